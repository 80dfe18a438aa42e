package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// backup serves GET /v1/backup: the whole state at the last block this
// node applied (every applied block is committed), streamed from one read
// transaction, with the head of that height signed by this node
// (package backup has the format). Nothing is buffered: the database goes
// from bbolt to the connection while the node goes on applying blocks.
// Ask a follower to keep the copy's I/O off the leader.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sn, err := s.cfg.Store.Snapshot()
	if err != nil {
		writeError(w, err)
		return
	}
	defer sn.Release()
	m, a, err := sn.Head()
	if err != nil {
		writeError(w, err)
		return
	}
	head, err := s.signedHead(m)
	if err != nil {
		writeError(w, err)
		return
	}
	hdr := backup.Header{Format: backup.FormatVersion, Network: m.Network, GenesisHash: m.GenesisHash, Head: *head,
		AppliedIndex: a.Index, AppliedTerm: a.Term, Node: s.cfg.NodeID, CreatedAt: tx.FormatTime(time.Now()), StateBytes: sn.StreamSize()}
	size, err := backup.Size(hdr)
	if err != nil {
		writeError(w, err)
		return
	}
	// A large state takes longer than the server's write timeout: this
	// response has none (the client's context bounds it).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", backup.ContentType)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set(wire.HeaderBackupHeight, strconv.FormatUint(m.Height, 10))
	w.Header().Set("Content-Disposition", "attachment; filename=\""+m.Network+"-"+strconv.FormatUint(m.Height, 10)+".tlbackup\"")
	w.WriteHeader(http.StatusOK)
	n, err := backup.Write(w, hdr, sn.WriteTo)
	if err != nil {
		// The status is sent: the client sees a short body, which the
		// trailer check refuses.
		s.log.Warn("backup stream failed", "height", m.Height, "bytes", n, "err", err)
		return
	}
	s.log.Info("backup streamed", "height", m.Height, "bytes", n, "seconds", time.Since(start).Seconds())
}
