package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/server"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// startCPUProfile profiles the process until the returned stop is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(env(name, "")); err == nil {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, err := strconv.ParseBool(env(name, "")); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(env(name, "")); err == nil {
		return v
	}
	return def
}

// envList is LEDGERNODE_<NAME> split at commas (nil when unset).
func envList(name string) []string {
	v := env(name, "")
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runCmd() *cobra.Command {
	hostname, _ := os.Hostname()
	nd := node.DefaultConfig()
	d := nd.Consensus
	var (
		id, dataDir, genesis, nodeKey, caFile, certFile, keyFile string
		raftBind, raftAdv, apiBind, logLevel, clockFile, pubURL  string
		cpuProfile, metricsAccess, hasRunFile, memLimit          string
		openGroups                                               []string
		noBootstrap, stateFsync                                  bool
		cc                                                       = d
		snapThreshold, trailing                                  int
		drain, maxClockOffset, faultClockOffset                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one ledger node",
		Long: `Run one ledger node. Every flag has an environment variable (LEDGERNODE_ and the
flag name in upper case with '_' for '-'), so a pod spec can configure it.

The node's id must be stable (a StatefulSet pod name): it is its Raft server id.
A node listed in the genesis bootstraps the cluster with the other genesis nodes
on its first start; any other node waits to be added ('ledgerctl cluster add').

Signals: SIGTERM/SIGINT stop gracefully (a leader first hands leadership to
the most up-to-date voter; then --shutdown-drain); SIGHUP re-reads the TLS
files (they are also re-read automatically when they change).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			for flag, v := range map[string]string{"--genesis": genesis, "--node-key": nodeKey, "--tls-ca": caFile, "--tls-cert": certFile, "--tls-key": keyFile} {
				if v == "" {
					return fmt.Errorf("%s is required", flag)
				}
			}
			ml, err := chooseMemoryLimit(memLimit, "/sys/fs/cgroup")
			if err != nil {
				return err
			}
			ml.apply()
			level := slog.LevelInfo
			if ml.err != nil {
				level = slog.LevelWarn
			}
			log.Log(context.Background(), level, "memory limit for the Go runtime", "bytes", ml.bytes, "from", ml.source)
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			g, err := chain.ReadGenesis(genesis)
			if err != nil {
				return err
			}
			key, err := tx.ReadKeyFile(nodeKey)
			if err != nil {
				return err
			}
			cc.SnapshotThreshold, cc.TrailingLogs = uint64(snapThreshold), uint64(trailing)
			if err := checkMaxClockOffset(maxClockOffset); err != nil {
				return err
			}
			if faultClockOffset != 0 || clockFile != "" {
				log.Warn("fault injection: this node's clock is shifted (tests only)", "offset", faultClockOffset.String(), "file", clockFile)
				cc.Clock = offsetClock(faultClockOffset, clockFile)
			}
			nc := nd
			nc.ID, nc.DataDir, nc.Genesis, nc.NodeKey = id, dataDir, g, key
			nc.TLSFiles = pki.Files{CA: caFile, Cert: certFile, Key: keyFile}
			nc.RaftBind, nc.RaftAdvertise, nc.APIBind, nc.PublicURL = raftBind, raftAdv, apiBind, pubURL
			nc.Consensus, nc.Logger, nc.NoBootstrap, nc.MaxClockOffset, nc.StateFsync = cc, log, noBootstrap, maxClockOffset, stateFsync
			nc.Access = server.AccessConfig{Open: openGroups, Metrics: metricsAccess}
			nc.NetworkHasRunFile = cmp.Or(hasRunFile, filepath.Join(filepath.Dir(genesis), wire.NetworkHasRunFile))
			n, err := node.Start(nc)
			if err != nil {
				return err
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			for s := range sigs {
				if s == syscall.SIGHUP {
					if err := n.Reloader().Reload(); err != nil {
						log.Error("TLS reload failed; keeping the previous certificates", "err", err)
					} else {
						log.Info("TLS files reloaded")
					}
					continue
				}
				log.Info("stopping", "signal", s.String())
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+drain)
			defer cancel()
			n.Drain(ctx, drain)
			done := make(chan error, 1)
			go func() { done <- n.Stop() }()
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
				return errors.New("graceful stop timed out")
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", env("ID", hostname), "node id, stable across restarts (default: host name, i.e. the pod name)")
	f.StringVar(&dataDir, "data-dir", env("DATA_DIR", "/var/lib/tradeledger"), "directory for the state, Raft log and snapshots")
	f.StringVar(&genesis, "genesis", env("GENESIS", ""), "genesis file of the network")
	f.StringVar(&nodeKey, "node-key", env("NODE_KEY", ""), "this node's Ed25519 key file (signs ledger heads)")
	f.StringVar(&caFile, "tls-ca", env("TLS_CA", ""), "network CA certificate (PEM)")
	f.StringVar(&certFile, "tls-cert", env("TLS_CERT", ""), "this node's certificate (PEM), issued by the network CA")
	f.StringVar(&keyFile, "tls-key", env("TLS_KEY", ""), "this node's TLS private key (PEM)")
	f.StringVar(&raftBind, "raft-bind", env("RAFT_BIND", "0.0.0.0:7000"), "listen address for Raft (mutual TLS)")
	f.StringVar(&raftAdv, "raft-advertise", env("RAFT_ADVERTISE", ""), "address peers dial for Raft (default: the bind address)")
	f.StringVar(&apiBind, "api-bind", env("API_BIND", "0.0.0.0:8443"), "listen address for the HTTPS API")
	f.StringVar(&pubURL, "public-url", env("PUBLIC_URL", ""), "https base URL outside verifiers reach this node at: exported credentials name their status lists under it (default: https:// and this node's API address in the genesis)")
	f.IntVar(&cc.BatchMaxTx, "batch-max-tx", envInt("BATCH_MAX_TX", d.BatchMaxTx), "transactions per block at most")
	f.DurationVar(&cc.BatchMaxDelay, "batch-max-delay", envDuration("BATCH_MAX_DELAY", d.BatchMaxDelay), "how long a transaction may wait for others to fill its block")
	f.DurationVar(&cc.HeartbeatTimeout, "heartbeat-timeout", envDuration("HEARTBEAT_TIMEOUT", d.HeartbeatTimeout), "Raft heartbeat timeout")
	f.DurationVar(&cc.ElectionTimeout, "election-timeout", envDuration("ELECTION_TIMEOUT", d.ElectionTimeout), "Raft election timeout")
	f.DurationVar(&cc.LeaderLeaseTimeout, "leader-lease-timeout", envDuration("LEADER_LEASE_TIMEOUT", d.LeaderLeaseTimeout), "Raft leader lease timeout")
	f.IntVar(&snapThreshold, "snapshot-threshold", envInt("SNAPSHOT_THRESHOLD", int(d.SnapshotThreshold)), "Raft log entries between snapshots")
	f.IntVar(&trailing, "trailing-logs", envInt("TRAILING_LOGS", int(d.TrailingLogs)), "Raft log entries kept after a snapshot")
	f.Uint64Var(&cc.SnapshotBytes, "snapshot-bytes", uint64(envInt("SNAPSHOT_BYTES", int(d.SnapshotBytes))), "also snapshot once the Raft log since the last snapshot holds this many bytes (0: by entry count only)")
	f.Uint64Var(&cc.TrailingBytes, "trailing-bytes", uint64(envInt("TRAILING_BYTES", int(d.TrailingBytes))), "about how many bytes of Raft log a snapshot by size keeps behind it (at most --trailing-logs entries)")
	f.DurationVar(&cc.SnapshotInterval, "snapshot-interval", envDuration("SNAPSHOT_INTERVAL", d.SnapshotInterval), "how often to check whether to snapshot")
	f.StringSliceVar(&openGroups, "open-route-groups", envList("OPEN_ROUTE_GROUPS"), "API route groups anyone may read without authenticating, comma-separated: "+strings.Join(server.OpenableGroups, ", ")+" (default none: every read needs a client certificate or a signed request; /healthz and /readyz are always open)")
	f.StringVar(&metricsAccess, "metrics-access", env("METRICS_ACCESS", "authenticated"), "who may read /metrics: authenticated or open")
	f.BoolVar(&noBootstrap, "no-bootstrap", envBool("NO_BOOTSTRAP", false), "never start a new cluster from the genesis, even as a genesis node with an empty data directory: wait to be added (set it once the network has run, and on networks restored from a backup or recovered; docs/operations.md)")
	f.StringVar(&hasRunFile, "network-has-run-file", env("NETWORK_HAS_RUN_FILE", ""), "a file whose presence says the network has run (default: "+wire.NetworkHasRunFile+" beside the --genesis file; the operator adds it to the genesis ConfigMap once the ledger has a block): while it exists a node with an empty data directory never starts a ledger from the genesis, and reports it when every member lost its data (create it on a network you run by hand once it has a block; docs/operations.md, \"Every member lost its data\")")
	f.DurationVar(&drain, "shutdown-drain", envDuration("SHUTDOWN_DRAIN", 0), "on SIGTERM, after handing leadership over, go on serving this long before stopping (so a load balancer that still routes to this node drops it first; the operator sets 5s on Kubernetes); /readyz answers 503 meanwhile")
	f.StringVar(&cc.DialSource, "dial-source", env("DIAL_SOURCE", ""), "local IP for connections to other nodes (multi-homed hosts)")
	f.DurationVar(&maxClockOffset, "max-clock-offset", envDuration("MAX_CLOCK_OFFSET", nd.MaxClockOffset), "how far a voter's clock may be from the leader's: a leader whose clock a quorum of voters disagrees with by more stamps no block and hands leadership over (at least 1s; docs/operations.md, \"Clocks\")")
	f.StringVar(&clockFile, "fault-clock-offset-file", env("FAULT_CLOCK_OFFSET_FILE", ""), "FAULT INJECTION, TESTS ONLY: shift this node's clock (block times, transaction time checks) by the duration in this file, re-read as it changes")
	_ = f.MarkHidden("fault-clock-offset-file")
	f.DurationVar(&faultClockOffset, "fault-clock-offset", envDuration("FAULT_CLOCK_OFFSET", 0), "FAULT INJECTION, TESTS ONLY: shift this node's clock (block times, transaction time checks) by this duration, e.g. 1h")
	_ = f.MarkHidden("fault-clock-offset")
	f.BoolVar(&stateFsync, "state-fsync", envBool("STATE_FSYNC", nd.StateFsync), "fsync the state file at every commit; by default the Raft log, fsync'd before an entry commits, is the durable record, and after a machine restart (power loss, kernel crash) the node rebuilds its state file from its Raft snapshot and log (docs/operations.md, \"Durability\")")
	f.StringVar(&memLimit, "memory-limit", env("MEMORY_LIMIT", "auto"), "soft memory limit for the Go runtime, which collects harder as it nears it: a size (512MiB, 2GiB), none, or auto: GOMEMLIMIT if set, else 90% of the container's memory limit (cgroup), else none. A joining node queues up to a few hundred MB of Raft log; without a limit the heap may grow to twice that before a collection")
	f.StringVar(&cpuProfile, "cpuprofile", env("CPUPROFILE", ""), "write a CPU profile of the whole run to this file (written when the node stops)")
	f.StringVar(&logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error")
	f.StringVar(&cc.RaftLogLevel, "raft-log-level", env("RAFT_LOG_LEVEL", d.RaftLogLevel), "level of Raft's own logs")
	return cmd
}

// checkMaxClockOffset refuses a bound that network delay alone would
// break, and an unreadable LEDGERNODE_MAX_CLOCK_OFFSET (envDuration would
// fall back to the default silently).
func checkMaxClockOffset(d time.Duration) error {
	if v := env("MAX_CLOCK_OFFSET", ""); v != "" {
		if _, err := time.ParseDuration(v); err != nil {
			return fmt.Errorf("LEDGERNODE_MAX_CLOCK_OFFSET %q: %v (a Go duration such as 30s)", v, err)
		}
	}
	if d < time.Second {
		return fmt.Errorf("--max-clock-offset %s: must be at least 1s (network delay alone is tens of milliseconds); the default is %s", d, node.DefaultConfig().MaxClockOffset)
	}
	return nil
}

// offsetClock is fault injection for the fault suites: the clock is
// shifted by fixed plus the Go duration written in path, if any (re-read
// at most every 100ms). The state machine keeps block times strictly
// increasing whatever it says.
func offsetClock(fixed time.Duration, path string) func() time.Time {
	if path == "" {
		return func() time.Time { return time.Now().Add(fixed) }
	}
	var mu sync.Mutex
	var offset time.Duration
	var read time.Time
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(read) > 100*time.Millisecond {
			read = time.Now()
			if raw, err := os.ReadFile(path); err == nil {
				if d, err := time.ParseDuration(strings.TrimSpace(string(raw))); err == nil {
					offset = d
				}
			}
		}
		return time.Now().Add(fixed + offset)
	}
}
