package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Proposal is what the leader proposes as one Raft entry: its clock reading
// and the canonical envelopes, in order. Everything else about the block is
// derived deterministically from the proposal and the state.
type Proposal struct {
	Time     string            `json:"time"`
	Proposer string            `json:"proposer"`
	Txs      []json.RawMessage `json:"txs"`
}

// BlockRecord is how a block is stored: its header and where its leaves are.
type BlockRecord struct {
	Header    chain.Header `json:"header"`
	Hash      string       `json:"hash"`
	FirstLeaf uint64       `json:"firstLeaf"`
}

// BlockResult is what ApplyBlock returns to the consensus layer.
type BlockResult struct {
	Skipped  bool // entry at or below the applied index (replay after restart)
	Height   uint64
	Hash     string
	Receipts []chain.Receipt
}

// prepared is a transaction decoded and verified ahead of the sequential apply.
type prepared struct {
	raw    []byte
	id     string
	signed *tx.Signed
	decErr error
	sigErr error
}

// ApplyBlock applies one proposal as block Height+1 in one bbolt write
// transaction, together with the applied Raft index and term. Entries at or
// below the applied index are skipped (index 0 means "not from Raft": always
// apply, used by replay). An error means the node cannot continue safely.
func (s *Store) ApplyBlock(p *Proposal, index, term uint64) (*BlockResult, error) {
	res, err := s.ApplyBlocks([]BlockEntry{{Proposal: p, Index: index, Term: term}})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// BlockEntry is one committed block entry: its proposal and Raft position.
type BlockEntry struct {
	Proposal    *Proposal
	Index, Term uint64
}

// ApplyBlocks applies consecutive committed block entries, in order, in
// ONE bbolt write transaction (one commit, so one pair of fsyncs, for all
// of them) that also records the last applied Raft index and term. The
// blocks, their contents and the state are exactly what applying them one
// by one gives: each block reads what the blocks before it wrote (the same
// transaction), its height, time and hashes follow the previous block's,
// and its history entries are keyed by its own height. Only the grouping
// of the writes into commits differs, and the file is never ahead of or
// behind the applied index it records: a crash loses either all of the
// group or none of it, and the Raft log (fsync'd before the entries were
// committed) holds the entries to apply again. Entries at or below the
// applied index are skipped, as in ApplyBlock.
func (s *Store) ApplyBlocks(entries []BlockEntry) ([]*BlockResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*BlockResult, len(entries))
	applied := s.Applied()
	var todo []int
	for i, e := range entries {
		if e.Index != 0 && e.Index <= applied.Index {
			out[i] = &BlockResult{Skipped: true}
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return out, nil
	}
	// Decode and verify every transaction of every block in parallel.
	var raws []json.RawMessage
	for _, i := range todo {
		raws = append(raws, entries[i].Proposal.Txs...)
	}
	allPreps := s.prepare(raws)
	prev := s.Meta()
	var meta *Meta
	var last Applied
	err := s.db.Update(func(btx *bolt.Tx) error {
		off := 0
		for _, i := range todo {
			e := entries[i]
			preps := allPreps[off : off+len(e.Proposal.Txs)]
			off += len(e.Proposal.Txs)
			t := blockTime(e.Proposal.Time, prev.Time)
			res, m, err := s.applyBlockTx(btx, &prev, e.Proposal, t, preps)
			if err != nil {
				return fmt.Errorf("apply block %d: %w", prev.Height+1, err)
			}
			out[i], meta, prev = res, m, *m
			if e.Index != 0 {
				last = Applied{Index: e.Index, Term: e.Term}
			}
		}
		if last.Index != 0 {
			return putJSONBolt(btx, bucketLocal, "applied", last)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.meta.Store(meta)
	if last.Index != 0 {
		s.applied.Store(&last)
	}
	s.signalChanged()
	return out, nil
}

// blockTime is the leader's time, forced strictly above the previous block
// time so that a leader whose clock jumped back cannot reorder history.
func blockTime(proposed, prev string) time.Time {
	pt, _ := tx.ParseTime(prev)
	floor := pt.Add(time.Microsecond)
	t, err := tx.ParseTime(proposed)
	if err != nil || t.Before(floor) {
		return floor
	}
	return t.Truncate(time.Microsecond)
}

// prepare decodes and verifies every envelope in parallel. Verification is
// a pure function of the envelope, so doing it concurrently cannot change the
// outcome; the apply that follows is strictly sequential.
func (s *Store) prepare(raws []json.RawMessage) []prepared {
	preps := make([]prepared, len(raws))
	parallel(len(raws), s.cfg.Workers, func(i int) {
		pr := &preps[i]
		pr.raw = raws[i]
		if sig, ok := s.verif.Decoded(raws[i]); ok {
			pr.signed, pr.id = sig, sig.IDHex()
			pr.sigErr = s.verif.Verify(sig)
			return
		}
		sig, err := tx.Decode(raws[i], s.limits)
		if err != nil {
			sum := sha256.Sum256(raws[i])
			pr.id, pr.decErr = hex.EncodeToString(sum[:]), err
			return
		}
		pr.signed, pr.id = sig, sig.IDHex()
		pr.sigErr = s.verif.Verify(sig)
	})
	return preps
}

func parallel(n, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func (s *Store) applyBlockTx(btx *bolt.Tx, prev *Meta, p *Proposal, t time.Time, preps []prepared) (*BlockResult, *Meta, error) {
	height := prev.Height + 1
	rangeHashes, err := chain.ParseHexHashes(prev.Range)
	if err != nil {
		return nil, nil, fmt.Errorf("stored tree range: %w", err)
	}
	app, err := chain.NewAppender(prev.TreeSize, rangeHashes)
	if err != nil {
		return nil, nil, err
	}
	merkle, err := writeBucket(btx, bucketMerkle, coreFills[bucketMerkle])
	if err != nil {
		return nil, nil, err
	}
	var putErr error
	storeNode := func(id compact.NodeID, h []byte) {
		if err := merkle.Put(chain.NodeKey(id), h); err != nil && putErr == nil {
			putErr = err
		}
	}
	wh := newWriteHash()
	firstLeaf := app.Size()
	receipts := make([]chain.Receipt, len(preps))
	for i := range preps {
		rc := s.applyOne(btx, wh, height, i, t, &preps[i])
		rc.LeafIndex = app.Size()
		leaf, err := rc.LeafData()
		if err != nil {
			return nil, nil, err
		}
		if err := app.Append(chain.Hasher.HashLeaf(leaf), storeNode); err != nil {
			return nil, nil, err
		}
		if err := putBolt(btx, bucketTxs, u64(rc.LeafIndex), preps[i].raw); err != nil {
			return nil, nil, err
		}
		if err := putBolt(btx, bucketReceipts, u64(rc.LeafIndex), leaf); err != nil {
			return nil, nil, err
		}
		if idb, _ := hex.DecodeString(rc.TxID); rc.Reasons == nil || rc.Reasons[0].Code != wire.CodeDuplicate {
			if err := putBolt(btx, bucketTxIndex, idb, u64(rc.LeafIndex)); err != nil {
				return nil, nil, err
			}
		}
		receipts[i] = rc
	}
	if putErr != nil {
		return nil, nil, putErr
	}
	root, err := app.Root()
	if err != nil {
		return nil, nil, err
	}
	prevState, _ := hex.DecodeString(prev.StateHash)
	stateHash := wh.chain(prevState)
	proposer := p.Proposer
	if !chain.ValidNodeID(proposer) {
		proposer = "invalid"
	}
	hdr := chain.Header{Network: prev.Network, Height: height, Prev: prev.BlockHash, Time: tx.FormatTime(t),
		Proposer: proposer, TxCount: len(preps), TreeSize: app.Size(), LedgerRoot: hex.EncodeToString(root),
		StateHash: hex.EncodeToString(stateHash)}
	bh, err := hdr.Hash()
	if err != nil {
		return nil, nil, err
	}
	if err := putJSONBolt(btx, bucketBlocks, string(u64(height)), BlockRecord{Header: hdr, Hash: bh, FirstLeaf: firstLeaf}); err != nil {
		return nil, nil, err
	}
	meta := &Meta{Network: prev.Network, GenesisHash: prev.GenesisHash, Height: height, BlockHash: bh, Time: hdr.Time,
		TreeSize: app.Size(), Root: hdr.LedgerRoot, Range: chain.HexHashes(app.Hashes()), StateHash: hdr.StateHash}
	if err := putJSONBolt(btx, bucketMeta, "head", meta); err != nil {
		return nil, nil, err
	}
	return &BlockResult{Height: height, Hash: bh, Receipts: receipts}, meta, nil
}

// applyOne runs the checks every node makes, in a fixed order, then the
// handler. It always returns a receipt: a bad transaction is recorded as
// rejected and never makes nodes diverge.
func (s *Store) applyOne(btx *bolt.Tx, wh *writeHash, height uint64, index int, t time.Time, pr *prepared) (rc chain.Receipt) {
	rc = chain.Receipt{TxID: pr.id, Height: height, Index: index, Time: tx.FormatTime(t), Status: chain.Rejected}
	reject := func(reasons []chain.Reason) chain.Receipt {
		rc.Reasons = reasons
		return rc
	}
	if pr.decErr != nil {
		return reject(AsReasons(pr.decErr, wire.CodeMalformed))
	}
	st := pr.signed
	rc.Type, rc.Signer = st.Type, st.Signer
	r := boltReader{btx}
	if err := s.statelessChecks(st, t); err != nil {
		return reject(err.Reasons)
	}
	if idb, _ := hex.DecodeString(pr.id); r.btx.Bucket([]byte(bucketTxIndex)) != nil {
		if v := r.btx.Bucket([]byte(bucketTxIndex)).Get(idb); v != nil {
			return reject([]chain.Reason{{Code: wire.CodeDuplicate, Message: fmt.Sprintf("transaction %s is already recorded at leaf %d; a transaction is accepted once", shortID(pr.id), beU64(v))}})
		}
	}
	if pr.sigErr != nil {
		return reject(AsReasons(pr.sigErr, wire.CodeBadSignature))
	}
	signer, rej := s.resolveSigner(r, st.Signer, t)
	if rej != nil {
		return reject(rej.Reasons)
	}
	if rej := nonceUsed(r, st); rej != nil {
		return reject(rej.Reasons)
	}
	h, _ := s.reg.Lookup(st.Type)
	if rej := h.authorize(signer, st.Payload); rej != nil {
		return reject(rej.Reasons)
	}
	ov := newOverlay(btx)
	c := &Context{KV: ov, Time: t, Height: height, Index: index, TxID: pr.id, Tx: st, Signer: signer, Genesis: s.genesis, reg: s.reg}
	result, err := safeApply(h, c)
	rc.Findings = c.findings
	if err != nil {
		if len(c.records) > 0 {
			kept := newOverlay(btx)
			keepRecords(kept, c.records)
			if ferr := kept.flush(btx, wh, height, s.reg.fillOf); ferr != nil {
				panic(fmt.Errorf("flush records of rejected tx %s: %w", pr.id, ferr))
			}
		}
		return reject(AsReasons(err, wire.CodeInvalid))
	}
	if result != nil {
		raw, err := tx.Canonicalize(result)
		if err != nil {
			return reject([]chain.Reason{{Code: wire.CodeInternal, Message: "result not encodable: " + err.Error()}})
		}
		rc.Result = raw
	}
	keepRecords(ov, c.records)
	ov.Put(BucketNonces, nonceKey(st), []byte(pr.id))
	if err := ov.flush(btx, wh, height, s.reg.fillOf); err != nil {
		// A write failure inside a bbolt transaction is not a verdict on the
		// transaction; the whole block fails and the node stops.
		panic(fmt.Errorf("flush writes of tx %s: %w", pr.id, err))
	}
	rc.Status = chain.Accepted
	return rc
}

// BucketNonces holds every nonce a signer has used in an accepted
// transaction: signer key id + "\x00" + nonce -> transaction id. A nonce is
// unique per signer among accepted transactions, for ever: another
// transaction by the same key with the same nonce is refused
// (nonce_reused), even if its other fields differ. A rejected transaction
// changes no state, its nonce included (its id is recorded: the same
// envelope again is a duplicate).
const BucketNonces = "nonces"

func nonceKey(st *tx.Signed) string { return st.Signer + "\x00" + st.Nonce }

// nonceUsed refuses a nonce its signer already used.
func nonceUsed(r Reader, st *tx.Signed) *wire.Rejection {
	if prev := r.Get(BucketNonces, nonceKey(st)); prev != nil {
		return wire.Reject(wire.CodeNonceReused, "nonce", "%q was already used by this signer in transaction %s; a nonce is used once per key: sign with a fresh random nonce", st.Nonce, shortID(string(prev)))
	}
	return nil
}

// statelessChecks are the checks that need only the envelope, the genesis
// and the block time: network, time window, known type and payload shape.
func (s *Store) statelessChecks(st *tx.Signed, t time.Time) *wire.Rejection {
	g := s.genesis
	if st.Network != g.Network {
		return wire.Reject(wire.CodeWrongNetwork, "network", "transaction is for network %q; this ledger is %q", st.Network, g.Network)
	}
	created := st.CreatedTime()
	skew := time.Duration(g.Params.MaxClockSkewSeconds) * time.Second
	window := time.Duration(g.Params.TxWindowSeconds) * time.Second
	if created.After(t.Add(skew)) {
		return wire.Reject(wire.CodeFuture, "created", "created %s is more than %s after the ledger time %s; check the signer's clock", st.Created, skew, tx.FormatTime(t))
	}
	if created.Before(t.Add(-window)) {
		return wire.Reject(wire.CodeExpired, "created", "created %s is more than %s before the ledger time %s; sign a new transaction", st.Created, window, tx.FormatTime(t))
	}
	h, ok := s.reg.Lookup(st.Type)
	if !ok {
		return wire.Reject(wire.CodeUnknownType, "type", "no transaction type %q on this ledger; `ledgerctl tx types` lists them", st.Type)
	}
	if s.verif.PayloadChecked(st.ID) {
		return nil // checked before consensus: a pure function of type and payload
	}
	if err := safeCheck(h, st.Payload); err != nil {
		return &wire.Rejection{Reasons: AsReasons(err, wire.CodeInvalid)}
	}
	s.verif.MarkPayloadChecked(st.ID)
	return nil
}

// safeCheck runs a handler's Check; a panic (a handler bug) becomes a
// rejection, the same on every node, instead of stopping every node on the
// same block.
func safeCheck(h *Handler, payload json.RawMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = wire.Reject(wire.CodeInternal, "payload", "handler %s could not check this payload: %v", h.Type, p)
		}
	}()
	return h.Check(payload)
}

// resolveSigner finds the key and its owner and checks both may sign at t.
// The records are decoded through the store's caches (record_cache.go):
// the same bytes give the same records, decoded once.
func (s *Store) resolveSigner(r Reader, keyID string, t time.Time) (Signer, *wire.Rejection) {
	raw := r.Get(BucketKeys, keyID)
	if raw == nil {
		return Signer{}, wire.Reject(wire.CodeUnknownKey, "signer", "key %s is not registered on this ledger; have it enrolled first", tx.FingerprintOf(keyID))
	}
	shared, err := s.keyCache.decode(keyID, raw)
	if err != nil {
		return Signer{}, wire.Reject(wire.CodeInternal, "signer", "key record unreadable: %v", err)
	}
	k := *shared // the handlers get their own copy
	k.History = slices.Clone(k.History)
	if rej := k.ValidAt(t); rej != nil {
		return Signer{}, rej
	}
	if raw := r.Get(BucketIdentities, k.Owner); raw != nil {
		if id, err := s.identCache.decode(k.Owner, raw); err == nil && id.Status != "active" {
			return Signer{}, wire.Reject(wire.CodeUnauthorized, "signer", "%s is %s and may not sign", id.ID, id.Status)
		}
	}
	return Signer{KeyID: keyID, Owner: k.Owner, Kind: k.Kind, Key: &k}, nil
}

func keepRecords(ov *overlay, recs []record) {
	for _, r := range recs {
		ov.Put(r.bucket, r.key, r.value)
	}
}

func safeApply(h *Handler, c *Context) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, wire.Reject(wire.CodeInternal, "", "handler %s failed: %v", h.Type, p)
		}
	}()
	return h.Apply(c)
}

func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

func beU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
