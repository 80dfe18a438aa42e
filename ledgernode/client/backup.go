package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Backup streams a backup of one node's state into w (see package backup
// for the format and its checks): the first endpoint that answers serves
// it, at the last block it applied. Nothing is buffered. progress, if not
// nil, is told the bytes written so far and the total. The request has no
// timeout of its own (a large state takes a while): ctx bounds it. An
// endpoint that fails before sending anything is skipped; a stream that
// breaks is an error (the partial file fails its trailer check).
func (c *Client) Backup(ctx context.Context, w io.Writer, progress func(done, total int64)) (int64, error) {
	hc := &http.Client{Transport: c.http.Transport} // no overall timeout
	var lastErr error
	for i := range c.cfg.Endpoints {
		base := c.cfg.Endpoints[(int(c.next.Load())+i)%len(c.cfg.Endpoints)]
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+wire.PathBackup, nil)
		if err != nil {
			return 0, err
		}
		if c.cfg.SignKey != nil {
			SignRequest(req, c.cfg.SignKey, nil, time.Now())
		}
		resp, err := hc.Do(req)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			lastErr = errorOf(resp)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return 0, lastErr // refused: asking another node gives the same answer
			}
			continue
		}
		n, err := copyProgress(w, resp.Body, resp.ContentLength, progress)
		resp.Body.Close()
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("backup from %s ended after %d of %d bytes", base, n, resp.ContentLength)
		}
		if err != nil {
			return n, fmt.Errorf("backup from %s: %w", base, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no node served a backup: %w", lastErr)
}

func errorOf(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb wire.ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		eb.Error = wire.ErrorDetail{Code: "http_error", Message: strings.TrimSpace(tx.Shorten(string(data), 300))}
	}
	return &Error{Status: resp.StatusCode, ErrorDetail: eb.Error}
}

func copyProgress(w io.Writer, r io.Reader, total int64, progress func(done, total int64)) (int64, error) {
	buf := make([]byte, 1<<20)
	var n, last int64
	for {
		m, err := r.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
			if progress != nil && n-last >= 32<<20 {
				last = n
				progress(n, total)
			}
		}
		if err == io.EOF {
			if progress != nil {
				progress(n, total)
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
