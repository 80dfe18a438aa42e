package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// maxBatchBytes bounds the body of POST /v1/txs.
const maxBatchBytes = 16 << 20

// submitBatch handles POST /v1/txs: up to wire.MaxBatch envelopes in one
// request, each checked and answered as POST /v1/tx would, in order. A
// follower forwards the batch to the leader in one request. It saves a
// gateway submitting many records the cost of one HTTP exchange each.
//
// The body is decoded as it arrives, envelope by envelope, under the
// node's and the client's byte budgets (budget.go). An envelope whose
// signer is unknown, whose key is not valid or whose signature fails stops
// the request there: the whole batch is refused (401/403 naming
// body[i]) without reading the rest, and nothing from it is submitted.
func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	bb := s.budget.budgetBody(r)
	defer bb.release()
	arrived := time.Now()
	cr := &countingReader{r: io.LimitReader(bb, maxBatchBytes+1)}
	dec := json.NewDecoder(cr)
	refuse := func(err error) {
		w.Header().Set("Connection", "close") // the rest of the body is not read
		writeError(w, err)
	}
	readErr := func(what string, err error) error {
		switch {
		case errors.Is(err, errBusy):
			return err
		case cr.n > maxBatchBytes:
			return &tx.FieldError{Field: "body", Large: true, Message: fmt.Sprintf("request body is over the limit of %d bytes; send fewer envelopes per request", maxBatchBytes)}
		}
		return badRequest(what, "must be a JSON array of signed envelopes: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if tok, err := dec.Token(); err != nil {
		refuse(readErr("body", err))
		return
	} else if d, ok := tok.(json.Delim); !ok || d != '[' {
		refuse(badRequest("body", fmt.Sprintf("must be a JSON array of signed envelopes, not %s", jsonTokenKind(tok))))
		return
	}
	forwarded := r.Header.Get(wire.HeaderForwarded) != ""
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SubmitTimeout)
	defer cancel()
	res := make([]wire.BatchResult, wire.MaxBatch)
	sts := make([]*tx.Signed, wire.MaxBatch)
	var stop atomic.Pointer[batchStop]
	items := make(chan batchItem, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				if stop.Load() != nil {
					continue
				}
				var st *tx.Signed
				var err error
				if serr := s.cpu.do(ctx, func() { st, err = tx.Decode(it.raw, s.cfg.Store.Limits()) }); serr != nil {
					err = serr
				}
				if err != nil {
					res[it.i] = failed("", err)
					continue
				}
				existing, err := s.precheck(ctx, st, arrived, forwarded)
				switch {
				case err != nil && authFailure(err):
					stop.CompareAndSwap(nil, &batchStop{i: it.i, err: err})
				case errors.Is(err, errForward):
					sts[it.i] = st
				case err != nil:
					res[it.i] = failed(st.IDHex(), err)
				case existing != nil:
					res[it.i] = wire.BatchResult{TxID: st.IDHex(), Existing: true, Receipt: &existing.Receipt}
				default:
					sts[it.i] = st
				}
			}
		}()
	}
	n := 0
	var rerr error
	for dec.More() && stop.Load() == nil {
		if n == wire.MaxBatch {
			rerr = badRequest("body", fmt.Sprintf("more than %d envelopes: send 1 to %d per request", wire.MaxBatch, wire.MaxBatch))
			break
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			rerr = readErr(fmt.Sprintf("body[%d]", n), err)
			break
		}
		items <- batchItem{i: n, raw: raw}
		n++
	}
	close(items)
	wg.Wait()
	if st := stop.Load(); st != nil {
		refuse(inEnvelope(st.i, st.err))
		return
	}
	if rerr == nil {
		if _, err := dec.Token(); err != nil {
			rerr = readErr("body", err)
		} else if n == 0 {
			rerr = badRequest("body", fmt.Sprintf("0 envelopes: send 1 to %d per request", wire.MaxBatch))
		}
	}
	if rerr != nil {
		refuse(rerr)
		return
	}
	res, sts = res[:n], sts[:n]
	var pending, forward []int
	for i, st := range sts {
		if st == nil {
			continue
		}
		if s.cfg.Replica.IsLeader() || forwarded {
			pending = append(pending, i)
		} else {
			forward = append(forward, i)
		}
	}
	if len(pending) > 0 {
		s.submitPending(ctx, sts, pending, res)
	}
	if len(forward) > 0 {
		s.forwardPending(ctx, sts, forward, res)
	}
	for _, rr := range res {
		if rr.Error != nil {
			s.countSubmit(errors.New(rr.Error.Code))
		} else {
			s.countSubmit(nil)
		}
	}
	writeJSON(w, http.StatusOK, wire.BatchResponse{Results: res})
}

type batchItem struct {
	i   int
	raw json.RawMessage
}

// batchStop is the envelope that stopped a batch, and why.
type batchStop struct {
	i   int
	err error
}

// authFailure says whether a precheck failure is about who signed: an
// unknown signer, a key not valid now, a signature that does not verify.
// Such an envelope stops its whole batch.
func authFailure(err error) bool {
	var rej *wire.Rejection
	if !errors.As(err, &rej) {
		return errors.Is(err, tx.ErrBadSignature)
	}
	switch rej.Reasons[0].Code {
	case wire.CodeUnknownKey, wire.CodeKeyInvalid, wire.CodeBadSignature:
		return true
	}
	return false
}

// inEnvelope names the batch envelope an error is about: its field becomes
// body[i].<field>.
func inEnvelope(i int, err error) error {
	st, d := statusOf(err)
	prefix := fmt.Sprintf("body[%d]", i)
	if d.Field != "" {
		d.Field = prefix + "." + d.Field
	} else {
		d.Field = prefix
	}
	d.Message = fmt.Sprintf("%s: %s; the whole batch is refused, nothing in it was submitted", prefix, d.Message)
	return &errPeer{status: st, body: wire.ErrorBody{Error: d}}
}

func jsonTokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// failed is a batch item's error, mapped as the single-envelope route maps it.
func failed(id string, err error) wire.BatchResult {
	st, d := statusOf(err)
	return wire.BatchResult{TxID: id, Status: st, Error: &d}
}

// submitPending proposes the pending items here (this node leads, or the
// batch was forwarded to it: never forwarded again).
func (s *Server) submitPending(ctx context.Context, sts []*tx.Signed, pending []int, res []wire.BatchResult) {
	var wg sync.WaitGroup
	for _, i := range pending {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rc, _, err := s.submitOrForward(ctx, sts[i], true, false)
			if err != nil {
				res[i] = failed(sts[i].IDHex(), err)
				return
			}
			res[i] = wire.BatchResult{TxID: rc.TxID, Existing: rc.TxID != sts[i].IDHex(), Receipt: &rc}
		}(i)
	}
	wg.Wait()
}

// forwardPending sends the pending items to the leader as one batch,
// retrying while there is no leader (resubmission is safe: accepted once).
func (s *Server) forwardPending(ctx context.Context, sts []*tx.Signed, pending []int, res []wire.BatchResult) {
	items := make([]*tx.Signed, len(pending))
	for k, i := range pending {
		items[k] = sts[i]
	}
	body := wire.BatchBody(items)
	backoff := 20 * time.Millisecond
	for {
		status, out, err := s.forward(ctx, http.MethodPost, "/v1/txs", body)
		if err == nil && status == http.StatusOK {
			var br wire.BatchResponse
			if err := json.Unmarshal(out, &br); err == nil && len(br.Results) == len(pending) {
				for k, i := range pending {
					res[i] = br.Results[k]
				}
				return
			}
			err = fmt.Errorf("leader's answer to a batch of %d unreadable", len(pending))
		} else if err == nil {
			err = peerError(status, out)
		}
		if !isRetryable(err) || ctx.Err() != nil {
			if ctx.Err() != nil {
				err = consensus.ErrOutcomeUnknown
			}
			for _, i := range pending {
				res[i] = failed(sts[i].IDHex(), err)
			}
			return
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}
