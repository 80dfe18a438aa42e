package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
)

// The session file remembers, per network, the height of the last receipt
// ledgerctl got, so that the next command's reads ask for it (minHeight):
// a certificate read right after its issue is found even when the node
// asked had not applied it yet. An entry older than sessionTTL is ignored:
// by then every node has long caught up, or the network is another one.
const sessionTTL = 10 * time.Minute

type sessionEntry struct {
	Height uint64 `json:"height"`
	Time   string `json:"time"`
}

func (a *App) sessionPath() string {
	if p := os.Getenv(EnvSession); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ledgerctl", "session.json")
}

// sessionKey names the network: its id when configured, else the servers.
func (a *App) sessionKey() string {
	if a.g.network != "" {
		return "network:" + a.g.network
	}
	return "servers:" + strings.TrimSpace(a.g.servers)
}

func (a *App) readSession() map[string]sessionEntry {
	m := map[string]sessionEntry{}
	p := a.sessionPath()
	if p == "" {
		return m
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return m
	}
	_ = json.Unmarshal(raw, &m) // a damaged file is a fresh session
	return m
}

// loadSession is the height of the last write to this network, if recent.
func (a *App) loadSession() uint64 {
	e, ok := a.readSession()[a.sessionKey()]
	if !ok {
		return 0
	}
	t, err := time.Parse(time.RFC3339, e.Time)
	if err != nil || time.Since(t) > sessionTTL {
		return 0
	}
	return e.Height
}

func (a *App) writeSession(m map[string]sessionEntry) {
	p := a.sessionPath()
	if p == "" {
		return
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	tmp := p + ".tmp"
	if os.WriteFile(tmp, raw, 0o600) == nil {
		_ = os.Rename(tmp, p)
	}
}

// saveSession records the height of the last receipt for this network.
func (a *App) saveSession(h uint64) {
	m := a.readSession()
	now := time.Now().UTC()
	for k, e := range m { // keep the file small
		if t, err := time.Parse(time.RFC3339, e.Time); err != nil || now.Sub(t) > sessionTTL {
			delete(m, k)
		}
	}
	m[a.sessionKey()] = sessionEntry{Height: h, Time: now.Format(time.RFC3339)}
	a.writeSession(m)
	a.sessionHeight = h
}

func (a *App) forgetSession() {
	m := a.readSession()
	delete(m, a.sessionKey())
	a.writeSession(m)
	a.sessionHeight = 0
}

func isHeightNotReached(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Code == "height_not_reached"
}
