package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// batchItem is one line of a bulk load: a signed envelope, or a type and a
// payload to sign with --key.
type batchItem struct {
	line    int
	signed  *tx.Signed
	typ     string
	payload json.RawMessage
}

// BatchItemResult is what happened to one item of a bulk load.
type BatchItemResult struct {
	Line     int            `json:"line"`
	TxID     string         `json:"txId,omitempty"`
	Status   string         `json:"status"` // accepted, rejected, refused, error
	Existing bool           `json:"existing,omitempty"`
	Height   uint64         `json:"height,omitempty"`
	Reasons  []chain.Reason `json:"reasons,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// BatchSummary counts the outcomes of a bulk load.
type BatchSummary struct {
	Items           int `json:"items"`
	Accepted        int `json:"accepted"`
	AlreadyRecorded int `json:"alreadyRecorded"`
	Rejected        int `json:"rejected"`
	Refused         int `json:"refused"`
	Errors          int `json:"errors"`
}

func (a *App) txSubmitBatchCmd() *cobra.Command {
	var file, results string
	var chunk int
	cmd := &cobra.Command{
		Use:   "submit-batch --file FILE [--key KEY] [--chunk N] [--results FILE]",
		Short: "Bulk load: submit many transactions through POST /v1/txs, with progress and a result per item",
		Long: `Submit the transactions of FILE in batches of --chunk (at most 1,000) through
POST /v1/txs, printing progress after each batch and a summary at the end.

FILE holds JSON lines (or one JSON array). Each item is either a signed
envelope (from 'ledgerctl tx sign') or {"type": ..., "payload": ...}, signed
here with --key just before its batch is sent. Every line is read and checked
before anything is sent; a line that is neither is reported by number.

--results FILE writes one JSON line per item: line, txId, status (accepted,
rejected: recorded with reasons; refused: 4xx before consensus; error), the
receipt's height and reasons. A transaction is accepted once: signed
envelopes sent again get their original receipts ("already recorded"), so a
load of signed envelopes can be resumed by running it again. Items signed here
get new ids each run: sign first (tx sign) for loads you may need to resume.

Exit code 0 when every item was accepted (or already recorded), 2 when the
ledger rejected or refused some, 1 on other errors.`,
		Example: `  ledgerctl tx submit-batch --file certificates.jsonl --key acme.key --results results.jsonl
  ledgerctl tx submit-batch --file signed-envelopes.jsonl --chunk 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("--file FILE is required (JSON lines; '-' reads standard input)")
			}
			if chunk < 1 || chunk > wire.MaxBatch {
				return fmt.Errorf("--chunk %d: must be 1-%d", chunk, wire.MaxBatch)
			}
			raw, err := readInput(file)
			if err != nil {
				return err
			}
			items, err := parseBatch(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			var key ed25519.PrivateKey
			for _, it := range items {
				if it.signed == nil && key == nil {
					if key, err = a.Key(); err != nil {
						return fmt.Errorf("line %d is a payload to sign: %w", it.line, err)
					}
				}
			}
			var out io.Writer = io.Discard
			if results != "" {
				f, err := os.Create(results)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			var sum BatchSummary
			err = a.withClient(func(c *client.Client, ctx context.Context) error {
				network := ""
				if key != nil {
					if network, err = a.Network(ctx, c); err != nil {
						return err
					}
				}
				sum, err = submitBatches(ctx, c, items, chunk, key, network, out, cmd.ErrOrStderr())
				return err
			})
			if err != nil {
				return err
			}
			if err := a.Print(cmd, sum, func(w io.Writer) {
				fmt.Fprintf(w, "%d item(s): accepted %d, already recorded %d, rejected %d, refused %d, errors %d\n",
					sum.Items, sum.Accepted, sum.AlreadyRecorded, sum.Rejected, sum.Refused, sum.Errors)
			}); err != nil {
				return err
			}
			switch {
			case sum.Rejected+sum.Refused > 0:
				return &ExitError{Code: exitNo, Err: fmt.Errorf("%d item(s) rejected and %d refused by the ledger%s", sum.Rejected, sum.Refused, seeResults(results))}
			case sum.Errors > 0:
				return fmt.Errorf("%d item(s) failed%s", sum.Errors, seeResults(results))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "JSON lines (or a JSON array) of signed envelopes or {type, payload} items ('-' for standard input)")
	cmd.Flags().IntVar(&chunk, "chunk", wire.MaxBatch, "transactions per request")
	cmd.Flags().StringVar(&results, "results", "", "write one JSON line per item (line, txId, status, height, reasons)")
	return cmd
}

func seeResults(path string) string {
	if path == "" {
		return " (pass --results FILE to see which)"
	}
	return "; see " + path
}

// parseBatch reads JSON lines or a JSON array into items, naming the line
// (or array position, counted from 1) of any item that is neither a signed
// envelope nor a type and a payload.
func parseBatch(raw []byte) ([]batchItem, error) {
	var raws []json.RawMessage
	var lines []int
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raws); err != nil {
			return nil, fmt.Errorf("not a JSON array: %w", err)
		}
		for i := range raws {
			lines = append(lines, i+1)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for n := 1; sc.Scan(); n++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			raws = append(raws, bytes.Clone(sc.Bytes()))
			lines = append(lines, n)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if len(raws) == 0 {
		return nil, errors.New("no items")
	}
	items := make([]batchItem, 0, len(raws))
	for i, r := range raws {
		var probe struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
			Sig     string          `json:"sig"`
		}
		if err := json.Unmarshal(r, &probe); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object: %w", lines[i], err)
		}
		switch {
		case probe.Sig != "":
			st, err := tx.Decode(r, tx.Limits{MaxEnvelopeBytes: 64 << 20})
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lines[i], err)
			}
			items = append(items, batchItem{line: lines[i], signed: st})
		case probe.Type != "" && len(probe.Payload) > 0:
			items = append(items, batchItem{line: lines[i], typ: probe.Type, payload: probe.Payload})
		default:
			return nil, fmt.Errorf("line %d: neither a signed envelope (ledgerctl tx sign) nor {\"type\": ..., \"payload\": ...}", lines[i])
		}
	}
	return items, nil
}

// submitBatches sends items in chunks, writing a result line per item to
// out and progress after each chunk to progress.
func submitBatches(ctx context.Context, c *client.Client, items []batchItem, chunk int, key ed25519.PrivateKey, network string, out, progress io.Writer) (BatchSummary, error) {
	sum := BatchSummary{Items: len(items)}
	enc := json.NewEncoder(out)
	start := time.Now()
	for from := 0; from < len(items); from += chunk {
		part := items[from:min(from+chunk, len(items))]
		sts := make([]*tx.Signed, len(part))
		for i, it := range part {
			if it.signed != nil {
				sts[i] = it.signed
				continue
			}
			st, err := tx.BuildSigned(network, it.typ, it.payload, time.Now(), key)
			if err != nil {
				return sum, fmt.Errorf("line %d: %w", it.line, err)
			}
			sts[i] = st
		}
		resp, err := c.SubmitBatch(ctx, sts)
		if err != nil {
			return sum, fmt.Errorf("batch from line %d: %w; the %d item(s) before it were submitted (signed envelopes can be sent again: each is accepted once)", part[0].line, err, from)
		}
		for i, r := range resp.Results {
			res := BatchItemResult{Line: part[i].line, TxID: r.TxID, Existing: r.Existing}
			if res.TxID == "" {
				res.TxID = sts[i].IDHex()
			}
			switch {
			case r.Receipt != nil:
				res.Status, res.Height, res.Reasons = string(r.Receipt.Status), r.Receipt.Height, r.Receipt.Reasons
				switch {
				case r.Existing:
					sum.AlreadyRecorded++
				case r.Receipt.Status == chain.Accepted:
					sum.Accepted++
				default:
					sum.Rejected++
				}
			case r.Error != nil && r.Status >= 400 && r.Status < 500:
				res.Status, res.Error = "refused", r.Error.Message
				if r.Error.Field != "" {
					res.Error = r.Error.Field + ": " + r.Error.Message
				}
				sum.Refused++
			default:
				res.Status = "error"
				if r.Error != nil {
					res.Error = r.Error.Message
				}
				sum.Errors++
			}
			if err := enc.Encode(res); err != nil {
				return sum, err
			}
		}
		done := from + len(part)
		rate := float64(done) / time.Since(start).Seconds()
		fmt.Fprintf(progress, "submitted %d/%d (accepted %d, already recorded %d, rejected %d, refused %d, errors %d) %.0f tx/s\n",
			done, len(items), sum.Accepted, sum.AlreadyRecorded, sum.Rejected, sum.Refused, sum.Errors, rate)
	}
	return sum, nil
}
