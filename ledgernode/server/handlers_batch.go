package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/api"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// maxBatchBytes bounds the body of POST /v1/txs.
const maxBatchBytes = 32 << 20

// submitBatch handles POST /v1/txs: up to api.MaxBatch envelopes in one
// request, each checked and answered as POST /v1/tx would, in order. A
// follower forwards the batch to the leader in one request. It saves a
// gateway submitting many records the cost of one HTTP exchange each.
func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, maxBatchBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		writeError(w, badRequest("body", "must be a JSON array of signed envelopes: "+err.Error()))
		return
	}
	if len(raws) == 0 || len(raws) > api.MaxBatch {
		writeError(w, badRequest("body", fmt.Sprintf("%d envelopes: send 1 to %d per request", len(raws), api.MaxBatch)))
		return
	}
	forwarded := r.Header.Get(api.HeaderForwarded) != ""
	leader := s.cfg.Node.IsLeader()
	res := make([]api.BatchResult, len(raws))
	sts := make([]*tx.Signed, len(raws))
	now := time.Now()
	eachParallel(len(raws), func(i int) {
		st, err := tx.Decode(raws[i], s.cfg.Store.Limits())
		if err != nil {
			res[i] = failed("", err)
			return
		}
		existing, err := s.cfg.Store.Precheck(st, now)
		switch {
		case err != nil && !(stateDependent(err) && !forwarded && !leader):
			res[i] = failed(st.IDHex(), err)
		case existing != nil:
			res[i] = api.BatchResult{TxID: st.IDHex(), Existing: true, Receipt: &existing.Receipt}
		default:
			sts[i] = st
		}
	})
	var pending []int
	for i, st := range sts {
		if st != nil {
			pending = append(pending, i)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SubmitTimeout)
	defer cancel()
	if len(pending) > 0 {
		if leader || forwarded {
			s.submitPending(ctx, sts, pending, res)
		} else {
			s.forwardPending(ctx, sts, pending, res)
		}
	}
	for _, rr := range res {
		if rr.Error != nil {
			s.countSubmit(errors.New(rr.Error.Code))
		} else {
			s.countSubmit(nil)
		}
	}
	writeJSON(w, http.StatusOK, api.BatchResponse{Results: res})
}

// failed is a batch item's error, mapped as the single-envelope route maps it.
func failed(id string, err error) api.BatchResult {
	st, d := statusOf(err)
	return api.BatchResult{TxID: id, Status: st, Error: &d}
}

// submitPending proposes the pending items here (this node leads, or the
// batch was forwarded to it: never forwarded again).
func (s *Server) submitPending(ctx context.Context, sts []*tx.Signed, pending []int, res []api.BatchResult) {
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
			res[i] = api.BatchResult{TxID: rc.TxID, Existing: rc.TxID != sts[i].IDHex(), Receipt: &rc}
		}(i)
	}
	wg.Wait()
}

// forwardPending sends the pending items to the leader as one batch,
// retrying while there is no leader (resubmission is safe: accepted once).
func (s *Server) forwardPending(ctx context.Context, sts []*tx.Signed, pending []int, res []api.BatchResult) {
	items := make([]*tx.Signed, len(pending))
	for k, i := range pending {
		items[k] = sts[i]
	}
	body := api.BatchBody(items)
	backoff := 20 * time.Millisecond
	for {
		status, out, err := s.forward(ctx, http.MethodPost, "/v1/txs", body)
		if err == nil && status == http.StatusOK {
			var br api.BatchResponse
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

// eachParallel runs fn for 0..n-1 on GOMAXPROCS goroutines.
func eachParallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
