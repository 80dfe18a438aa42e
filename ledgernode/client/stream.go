package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Stream submits transactions over one long streaming request to one node
// (POST /v1/txs/stream): any number of goroutines call Submit at once, and
// their envelopes share the connection, written together when several are
// ready, as gRPC clients share one HTTP/2 connection. Each Submit waits for
// its own receipt. When the stream breaks, the transactions waiting on it
// get ErrStreamBroken (their outcome is unknown: resubmitting the same
// envelope is safe, it is accepted once) and the next Submit opens a new
// stream.
type Stream struct {
	c        *Client
	endpoint string

	mu  sync.Mutex
	cur *streamConn
}

// ErrStreamBroken is returned for a transaction whose stream ended before
// its answer came: it may or may not have been committed.
var ErrStreamBroken = errors.New("submission stream broken; the outcome is unknown: resubmit the same envelope (it is accepted once)")

// OpenStream returns a Stream to the client's endpoint i (mod the number of
// endpoints). The stream connects on the first Submit.
func (c *Client) OpenStream(i int) *Stream {
	return &Stream{c: c, endpoint: c.cfg.Endpoints[i%len(c.cfg.Endpoints)]}
}

// Submit sends st on the stream and waits for its receipt (a rejected
// transaction is not an error: check Receipt.Status) or ctx.
func (s *Stream) Submit(ctx context.Context, st *tx.Signed) (*wire.SubmitResponse, error) {
	sc, err := s.conn()
	if err != nil {
		return nil, err
	}
	ch, err := sc.send(st.Canonical)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		if r.res.Error != nil || r.res.Receipt == nil {
			e := &Error{Status: r.res.Status}
			if r.res.Error != nil {
				e.ErrorDetail = *r.res.Error
			} else {
				e.ErrorDetail = wire.ErrorDetail{Code: "no_receipt", Message: "the node answered without a receipt"}
			}
			return nil, e
		}
		s.c.NoteHeight(r.res.Receipt.Height)
		return &wire.SubmitResponse{TxID: r.res.TxID, Receipt: r.res.Receipt, Existing: r.res.Existing}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the stream after the answers still due have come.
func (s *Stream) Close() error {
	s.mu.Lock()
	sc := s.cur
	s.cur = nil
	s.mu.Unlock()
	if sc == nil {
		return nil
	}
	return sc.close()
}

func (s *Stream) conn() (*streamConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && !s.cur.isBroken() {
		return s.cur, nil
	}
	sc, err := s.c.dialStream(s.endpoint)
	if err != nil {
		return nil, err
	}
	s.cur = sc
	return sc, nil
}

type streamAnswer struct {
	res wire.StreamResult
	err error
}

// streamConn is one streaming request: a writer goroutine that sends the
// queued envelopes, and a reader goroutine that hands each answer to its
// waiter (answers carry the line number of their envelope).
type streamConn struct {
	pw   *io.PipeWriter
	body io.ReadCloser

	mu      sync.Mutex
	queue   [][]byte
	waiting map[int]chan streamAnswer
	next    int // line number of the next envelope queued
	broken  error
	closing bool
	wake    chan struct{}
	done    chan struct{} // closed when the reader has finished
}

func (c *Client) dialStream(endpoint string) (*streamConn, error) {
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, endpoint+wire.PathTxStream, pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.ContentLength = -1
	sc := &streamConn{pw: pw, waiting: map[int]chan streamAnswer{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go sc.writeLoop()
	// No overall timeout: the stream lives as long as it is used (the
	// transport is the client's, so TLS and connections are shared).
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		sc.fail(err)
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var eb wire.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			eb.Error = wire.ErrorDetail{Code: "http_error", Message: tx.Shorten(string(data), 300)}
		}
		e := &Error{Status: resp.StatusCode, ErrorDetail: eb.Error}
		sc.fail(e)
		return nil, e
	}
	sc.body = resp.Body
	go sc.readLoop()
	return sc, nil
}

func (sc *streamConn) isBroken() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.broken != nil || sc.closing
}

func (sc *streamConn) send(canonical []byte) (<-chan streamAnswer, error) {
	ch := make(chan streamAnswer, 1)
	sc.mu.Lock()
	if sc.broken != nil {
		sc.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", ErrStreamBroken, sc.broken)
	}
	sc.waiting[sc.next] = ch
	sc.next++
	sc.queue = append(sc.queue, canonical)
	sc.mu.Unlock()
	select {
	case sc.wake <- struct{}{}:
	default:
	}
	return ch, nil
}

// writeLoop writes whatever is queued in one write, then waits for more.
func (sc *streamConn) writeLoop() {
	bw := bufio.NewWriterSize(sc.pw, 64<<10)
	for {
		<-sc.wake
		sc.mu.Lock()
		q := sc.queue
		sc.queue = nil
		closing, broken := sc.closing, sc.broken
		sc.mu.Unlock()
		if broken != nil {
			_ = sc.pw.CloseWithError(broken)
			return
		}
		for _, env := range q {
			_, _ = bw.Write(env)
			_ = bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			sc.fail(err)
			return
		}
		if closing {
			_ = sc.pw.Close()
			return
		}
	}
}

func (sc *streamConn) readLoop() {
	defer close(sc.done)
	defer sc.body.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(sc.body, 64<<10))
	for {
		var r wire.StreamResult
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the node ended the stream")
			}
			sc.fail(err)
			return
		}
		sc.mu.Lock()
		ch := sc.waiting[r.I]
		delete(sc.waiting, r.I)
		idle := sc.closing && len(sc.waiting) == 0
		sc.mu.Unlock()
		if ch != nil {
			ch <- streamAnswer{res: r}
		}
		if idle {
			return
		}
	}
}

// fail ends the stream: every transaction still waiting gets ErrStreamBroken.
func (sc *streamConn) fail(err error) {
	sc.mu.Lock()
	if sc.broken == nil {
		sc.broken = err
	}
	waiting := sc.waiting
	sc.waiting = map[int]chan streamAnswer{}
	sc.mu.Unlock()
	for _, ch := range waiting {
		ch <- streamAnswer{err: fmt.Errorf("%w: %v", ErrStreamBroken, err)}
	}
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// close ends the request body once everything queued is written, waits for
// the answers still due, and closes the stream.
func (sc *streamConn) close() error {
	sc.mu.Lock()
	sc.closing = true
	pending := len(sc.waiting)
	sc.mu.Unlock()
	select {
	case sc.wake <- struct{}{}:
	default:
	}
	if sc.body == nil {
		return nil
	}
	if pending == 0 {
		sc.body.Close()
	}
	<-sc.done
	return nil
}
