package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Streaming submission (POST /v1/txs/stream): one long request whose body
// is a stream of signed envelopes, one per line, answered by a stream of
// results, one per envelope, as each is known. Each envelope is checked and
// submitted exactly as POST /v1/tx would (decode, pre-checks, propose here
// or forward to the leader, receipt after commit); the stream only spares
// the client one HTTPS request per transaction, so that many concurrent
// submitters share one connection.
//
// Memory: a stream holds at most streamWindow envelopes in flight, and
// every envelope read counts against the node's and the client's byte
// budgets (budget.go) until its answer is written. When the budget is
// spent the stream stops reading (TCP pushes back on the client) instead
// of refusing: a stream is a flow, and a slower flow is the answer to
// overload. At most one envelope per stream is held before it is counted.
//
// An envelope whose signer is refused (unknown, key not valid, bad
// signature) ends the stream, as it ends a batch: once that is known
// nothing more is read, so a client with no registered key cannot keep a
// node reading.

// streamWindow is how many envelopes one stream may have in flight.
const streamWindow = 4096

// streamIdle is how long a stream may send nothing before it is closed.
const streamIdle = 2 * time.Minute

func (s *Server) submitStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// HTTP/1.1: read the body while answering (HTTP/2 does it anyway).
	if err := rc.EnableFullDuplex(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, err)
		return
	}
	lim := s.cfg.Store.Limits()
	forwarded := r.Header.Get(wire.HeaderForwarded) != ""
	hold := s.budget.streamHold(r)
	defer hold.close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()

	results := make(chan wire.StreamResult, streamWindow)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeStream(w, rc, results)
	}()
	window := make(chan struct{}, streamWindow)
	var wg sync.WaitGroup
	// refused: an envelope's signer was refused (unknown, invalid key, bad
	// signature); nothing more is read. The envelope that finds it sets it
	// and then cuts a read in progress short (deadline now); the reader
	// sets its idle deadline before it looks, so one of the two sees the
	// other.
	var refused atomic.Bool
	br := bufio.NewReaderSize(r.Body, 64<<10)
	for i := 0; ; {
		_ = rc.SetReadDeadline(time.Now().Add(streamIdle))
		if refused.Load() {
			break
		}
		line, err := readLine(br, lim.MaxEnvelopeBytes)
		if refused.Load() {
			break // read after the refusal, or cut short by it: not served
		}
		if len(line) > 0 {
			select {
			case window <- struct{}{}:
			case <-r.Context().Done():
			}
			if r.Context().Err() != nil {
				break
			}
			if herr := hold.take(r.Context(), int64(len(line))); herr != nil {
				<-window
				break
			}
			wg.Add(1)
			go func(i int, raw []byte) {
				defer wg.Done()
				res, authFailed := s.streamOne(r.Context(), raw, forwarded)
				if authFailed {
					res.Error.Message += fmt.Sprintf("; the stream ends at line %d: nothing more is read (send the rest on a new stream)", i)
					if refused.CompareAndSwap(false, true) {
						_ = rc.SetReadDeadline(time.Now())
					}
				}
				res.I = i
				results <- res
				hold.give(int64(len(raw)))
				<-window
			}(i, line)
			i++
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// A line over the limit, or the client went: answer the
				// envelopes already read, then end the stream.
				var tooLong *lineTooLong
				if errors.As(err, &tooLong) {
					res := failed("", &tx.FieldError{Field: "envelope", Large: true,
						Message: fmt.Sprintf("line %d is over the limit of %d bytes; the stream ends here", i, lim.MaxEnvelopeBytes)})
					res2 := wire.StreamResult{I: i, BatchResult: res}
					wg.Wait()
					results <- res2
				}
			}
			break
		}
	}
	wg.Wait()
	close(results)
	<-writerDone
}

// streamOne checks and submits one envelope of a stream, as POST /v1/tx.
// authFailed: its signer was refused (unknown, invalid key, bad
// signature), which ends the stream, as it ends a batch (authFailure).
func (s *Server) streamOne(ctx context.Context, raw []byte, forwarded bool) (_ wire.StreamResult, authFailed bool) {
	arrived := time.Now()
	var st *tx.Signed
	var err error
	if serr := s.cpu.do(ctx, func() { st, err = tx.Decode(raw, s.cfg.Store.Limits()) }); serr != nil {
		err = serr
	}
	if err != nil {
		s.countSubmit(err)
		return wire.StreamResult{BatchResult: failed("", err)}, signerRefused(err)
	}
	existing, err := s.precheck(ctx, st, arrived, forwarded)
	if err != nil && !errors.Is(err, errForward) {
		s.countSubmit(err)
		return wire.StreamResult{BatchResult: failed(st.IDHex(), err)}, signerRefused(err)
	}
	if existing != nil {
		s.countSubmit(nil)
		return wire.StreamResult{BatchResult: wire.BatchResult{TxID: st.IDHex(), Existing: true, Receipt: &existing.Receipt}}, false
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SubmitTimeout)
	defer cancel()
	rc, fwd, err := s.submitOrForward(sctx, st, forwarded, false)
	s.countSubmit(err)
	switch {
	case err != nil:
		return wire.StreamResult{BatchResult: failed(st.IDHex(), err)}, signerRefused(err)
	case fwd != nil:
		return wire.StreamResult{BatchResult: wire.BatchResult{TxID: fwd.TxID, Existing: fwd.Existing, Receipt: fwd.Receipt}}, false
	}
	return wire.StreamResult{BatchResult: wire.BatchResult{TxID: rc.TxID, Existing: rc.TxID != st.IDHex(), Receipt: &rc}}, false
}

// signerRefused: err refuses an envelope's signer, as judged here
// (authFailure) or by the leader this node handed the envelope to.
func signerRefused(err error) bool {
	if authFailure(err) {
		return true
	}
	var pe *errPeer
	if errors.As(err, &pe) {
		switch pe.body.Error.Code {
		case wire.CodeUnknownKey, wire.CodeKeyInvalid, wire.CodeBadSignature:
			return true
		}
	}
	return false
}

// writeStream writes results as they come, one JSON line each, flushing
// whenever no other result is waiting (many results share one write when
// many are ready at once).
func (s *Server) writeStream(w http.ResponseWriter, rc *http.ResponseController, results <-chan wire.StreamResult) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	broken := false
	for res := range results {
		if broken {
			continue // drain: the client is gone
		}
		if err := enc.Encode(res); err != nil {
			broken = true
			continue
		}
		if len(results) == 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.SubmitTimeout + 30*time.Second))
			if bw.Flush() != nil || rc.Flush() != nil {
				broken = true
			}
		}
	}
	if !broken {
		_ = bw.Flush()
		_ = rc.Flush()
	}
}

// lineTooLong is a stream line over the envelope limit.
type lineTooLong struct{}

func (*lineTooLong) Error() string { return "line too long" }

// readLine returns the next non-blank line (without its newline and
// surrounding white space), at most limit bytes; a longer line is a
// lineTooLong error. The returned slice is the caller's.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > limit+1 {
			return nil, &lineTooLong{}
		}
		buf = append(buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(bytes.TrimSuffix(buf, []byte("\n"))) > limit {
			return nil, &lineTooLong{}
		}
		line := bytes.TrimSpace(buf)
		if len(line) == 0 && err == nil {
			buf = buf[:0]
			continue
		}
		if len(line) > 0 && len(line) < len(buf) {
			line = bytes.Clone(line)
		}
		return line, err
	}
}

// streamBudget holds a stream's bytes against the node's and the client's
// budgets, envelope by envelope.
type streamBudget struct {
	b      *byteBudgets
	client *clientBudget
	key    string
}

func (b *byteBudgets) streamHold(r *http.Request) *streamBudget {
	sb := &streamBudget{b: b}
	sb.key, sb.client = b.holdClient(r)
	return sb
}

// weight is what an envelope of n bytes counts (never more than a budget
// holds, or it could never be taken).
func (sb *streamBudget) weight(n int64) int64 {
	return min(n, sb.b.cfg.ClientBytes, sb.b.cfg.NodeBytes)
}

// take waits until n bytes fit in both budgets (or ctx ends).
func (sb *streamBudget) take(ctx context.Context, n int64) error {
	n = sb.weight(n)
	if sb.client != nil {
		if err := sb.client.sem.Acquire(ctx, n); err != nil {
			return err
		}
	}
	if err := sb.b.node.Acquire(ctx, n); err != nil {
		if sb.client != nil {
			sb.client.sem.Release(n)
		}
		return err
	}
	return nil
}

// give returns n bytes (an envelope answered).
func (sb *streamBudget) give(n int64) {
	n = sb.weight(n)
	sb.b.node.Release(n)
	if sb.client != nil {
		sb.client.sem.Release(n)
	}
}

// close forgets the client's budget when no request of it is left.
func (sb *streamBudget) close() {
	sb.b.dropClient(sb.key, sb.client)
}
