package faults

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// noteInput is a porcupine input: a write of value, a read, or the known
// initial state of a key ("init").
type noteInput struct {
	Kind    string // write, read, init
	Key     string
	Value   int64
	Version uint64 // init only
}

// noteOutput is what the ledger answered; Unknown marks a write whose
// outcome was not learned (it may or may not have happened).
type noteOutput struct {
	Value   int64
	Version uint64
	Unknown bool
}

type noteState struct {
	Value   int64
	Version uint64
}

// noteModel: each key is a register whose version counts accepted writes.
var noteModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(noteInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return noteState{} },
	Step: func(s, in, out any) (bool, any) {
		st, i, o := s.(noteState), in.(noteInput), out.(noteOutput)
		switch i.Kind {
		case "init":
			return true, noteState{Value: i.Value, Version: i.Version}
		case "write":
			if o.Unknown {
				return true, noteState{Value: i.Value, Version: st.Version + 1}
			}
			return o.Version == st.Version+1, noteState{Value: i.Value, Version: o.Version}
		default: // read
			return o.Version == st.Version && (o.Version == 0 || o.Value == st.Value), st
		}
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(noteInput), out.(noteOutput)
		switch i.Kind {
		case "init":
			return fmt.Sprintf("init %s=%d@v%d", i.Key, i.Value, i.Version)
		case "write":
			if o.Unknown {
				return fmt.Sprintf("write %s=%d -> ?", i.Key, i.Value)
			}
			return fmt.Sprintf("write %s=%d -> v%d", i.Key, i.Value, o.Version)
		}
		return fmt.Sprintf("read %s -> %d@v%d", i.Key, o.Value, o.Version)
	},
}

// Workload writes and strongly reads notes on a few keys through random
// nodes, recording every acknowledgement and a porcupine history.
type Workload struct {
	c       *Cluster
	key     ed25519.PrivateKey
	keys    []string
	start   time.Time
	nextVal atomic.Int64

	mu      sync.Mutex
	ops     []porcupine.Operation
	Acked   []string // accepted transaction ids
	Unknown int      // writes whose outcome was not learned
	Refused int      // writes refused before consensus (4xx) or rejected
	Reads   int
	Errors  map[string]int // write errors by code, for the schedule's log line
}

// NewWorkload enrols a writer and records the keys' initial state.
func NewWorkload(ctx context.Context, c *Cluster, keys []string, nodes []int, seed int64) (*Workload, error) {
	w := &Workload{c: c, keys: keys, start: time.Now(), Errors: map[string]int{}}
	w.nextVal.Store(seed * 1_000_000)
	k, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	st, err := tx.BuildSigned(c.Genesis.Network, "key.register", wire.KeyRegister{Owner: fmt.Sprintf("participant/writer-%d", seed),
		PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}, time.Now(), c.Admin)
	if err != nil {
		return nil, err
	}
	resp, err := c.Client(30*time.Second, nodes...).Submit(ctx, st, client.SubmitOptions{})
	if err != nil {
		return nil, fmt.Errorf("enrol writer: %w", err)
	}
	if resp.Receipt.Status != chain.Accepted {
		return nil, fmt.Errorf("enrol writer rejected: %+v", resp.Receipt.Reasons)
	}
	w.key = k
	for _, key := range keys {
		n, err := c.Client(30*time.Second, nodes...).Note(ctx, key, client.ReadOptions{Strong: true})
		var init noteInput
		switch {
		case err == nil:
			var v int64
			_ = json.Unmarshal(n.Value, &v)
			init = noteInput{Kind: "init", Key: key, Value: v, Version: n.Version}
		case client.IsNotFound(err):
			init = noteInput{Kind: "init", Key: key}
		default:
			return nil, fmt.Errorf("initial read of %s: %w", key, err)
		}
		w.ops = append(w.ops, porcupine.Operation{ClientId: 0, Input: init, Output: noteOutput{}, Call: -2, Return: -1})
	}
	return w, nil
}

func (w *Workload) now() int64 { return time.Since(w.start).Nanoseconds() }

// Run drives writers and readers against nodes until ctx ends.
func (w *Workload) Run(ctx context.Context, nodes []int, writers, readers int) {
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			w.writer(ctx, id+1, nodes)
		}(i)
	}
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			w.reader(ctx, writers+id+1, nodes)
		}(i)
	}
	wg.Wait()
}

func shuffled(nodes []int) []int {
	out := append([]int(nil), nodes...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (w *Workload) writer(ctx context.Context, id int, nodes []int) {
	for ctx.Err() == nil {
		key := w.keys[rand.IntN(len(w.keys))]
		val := w.nextVal.Add(1)
		raw, _ := json.Marshal(val)
		st, err := tx.BuildSigned(w.c.Genesis.Network, "note.put", wire.NotePut{Key: key, Value: raw}, time.Now(), w.key)
		if err != nil {
			continue
		}
		cl := w.c.Client(4*time.Second, shuffled(nodes)...)
		call := w.now()
		// The request may outlive the schedule: never cut it short, so
		// that its outcome is known whenever a node gives it.
		rctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		resp, err := cl.Submit(rctx, st, client.SubmitOptions{})
		cancel()
		ret := w.now()
		in := noteInput{Kind: "write", Key: key, Value: val}
		var ae *client.Error
		w.mu.Lock()
		switch {
		case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500:
			// Refused before consensus: known not to have happened.
			w.Refused++
			w.Errors[ae.Code]++
		case err != nil:
			w.Unknown++
			code := "transport"
			if ae != nil {
				code = ae.Code
			}
			w.Errors[code]++
			w.ops = append(w.ops, porcupine.Operation{ClientId: id, Input: in, Output: noteOutput{Unknown: true}, Call: call, Return: 1 << 62})
		case resp.Receipt.Status == chain.Accepted:
			var r struct {
				Version uint64 `json:"version"`
			}
			_ = json.Unmarshal(resp.Receipt.Result, &r)
			w.Acked = append(w.Acked, resp.TxID)
			w.ops = append(w.ops, porcupine.Operation{ClientId: id, Input: in, Output: noteOutput{Value: val, Version: r.Version}, Call: call, Return: ret})
		default:
			// Rejected (e.g. a leader clock far off): it changed nothing.
			w.Refused++
			w.Errors[resp.Receipt.Reasons[0].Code]++
		}
		w.mu.Unlock()
		if err != nil {
			// Back off: a tight loop of failures only piles up operations of
			// unknown outcome, which make the history expensive to check.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (w *Workload) reader(ctx context.Context, id int, nodes []int) {
	for ctx.Err() == nil {
		key := w.keys[rand.IntN(len(w.keys))]
		cl := w.c.Client(3*time.Second, shuffled(nodes)[0])
		call := w.now()
		n, err := cl.Note(ctx, key, client.ReadOptions{Strong: true})
		ret := w.now()
		var out noteOutput
		switch {
		case err == nil:
			_ = json.Unmarshal(n.Value, &out.Value)
			out.Version = n.Version
		case client.IsNotFound(err):
		default:
			time.Sleep(50 * time.Millisecond)
			continue // a failed read tells nothing
		}
		w.mu.Lock()
		w.Reads++
		w.ops = append(w.ops, porcupine.Operation{ClientId: id, Input: noteInput{Kind: "read", Key: key}, Output: out, Call: call, Return: ret})
		w.mu.Unlock()
	}
}

// History returns the recorded operations.
func (w *Workload) History() []porcupine.Operation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]porcupine.Operation(nil), w.ops...)
}
