package server

// Clocks: the node-only route a peer samples this node's clock at, and
// the sampling side (clockcheck.Source) over the node-to-node HTTPS
// client. clockcheck decides what the samples mean.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/clockcheck"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// now is this node's clock (Config.Clock).
func (s *Server) now() time.Time { return s.cfg.Clock() }

// clusterClock serves GET /v1/cluster/clock (nodes only).
func (s *Server) clusterClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.Clock{Node: s.cfg.NodeID, Now: tx.FormatTime(s.now())})
}

// ClockSource is what the clock monitor samples through.
func (s *Server) ClockSource() clockcheck.Source { return clockSource{s} }

type clockSource struct{ s *Server }

// Voters are the Raft voters with their API addresses.
func (c clockSource) Voters() ([]clockcheck.Peer, error) {
	servers, err := c.s.cfg.Replica.Configuration()
	if err != nil {
		return nil, err
	}
	var out []clockcheck.Peer
	for _, sv := range servers {
		if sv.Suffrage == "voter" {
			out = append(out, clockcheck.Peer{ID: sv.ID, APIAddr: sv.APIAddr})
		}
	}
	return out, nil
}

// PeerClock asks a peer for its clock over mutual TLS; the answer must
// come from the node asked for (an address now used by another node
// gives no sample).
func (c clockSource) PeerClock(ctx context.Context, p clockcheck.Peer) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.APIAddr+wire.PathClusterClock, nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := c.s.peers.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return time.Time{}, clockcheck.ErrUnsupported // a node of an older version
	}
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("clock of %s: HTTP %d", p.ID, resp.StatusCode)
	}
	var cl wire.Clock
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 4096)).Decode(&cl); err != nil {
		return time.Time{}, fmt.Errorf("clock of %s: %w", p.ID, err)
	}
	if cl.Node != p.ID {
		return time.Time{}, fmt.Errorf("clock of %s: %s answered at %s", p.ID, cl.Node, p.APIAddr)
	}
	return tx.ParseTime(cl.Now)
}

// clockStatus fills the members' clock offsets and the skew sentence.
func (s *Server) clockStatus(st *wire.Status) {
	if s.cfg.Clocks == nil {
		return
	}
	offs, skew := s.cfg.Clocks.Offsets()
	st.ClockSkew = skew
	for i := range st.Members {
		for _, o := range offs {
			if o.ID == st.Members[i].ID && o.Measure {
				v := o.Offset.Seconds()
				st.Members[i].ClockOffsetSeconds, st.Members[i].ClockSkewed = &v, o.Skewed
			}
		}
	}
}
