package backup_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

var t0 = statetest.T0

type ledger struct {
	g       *chain.Genesis
	admin   ed25519.PrivateKey
	nodeKey ed25519.PrivateKey
	store   *state.Store
	path    string
}

// newLedger is a real state store with a few blocks of admin-signed key
// registrations (the core transaction type; accepted).
func newLedger(t testing.TB, blocks int) *ledger {
	t.Helper()
	g, admin, nk := statetest.Genesis(t, t0, nil)
	l := &ledger{g: g, admin: admin, nodeKey: nk, path: filepath.Join(t.TempDir(), "state.db")}
	l.store = l.open(t, l.path)
	for b := 0; b < blocks; b++ {
		at := t0.Add(time.Duration(b+1) * time.Second)
		var txs []json.RawMessage
		for i := 0; i < 3; i++ {
			k, _ := tx.GenerateKey()
			st, err := tx.BuildSigned(g.Network, "key.register", wire.KeyRegister{Owner: "participant/p" + string(rune('a'+b)) + string(rune('a'+i)),
				PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}, at, admin)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, st.Canonical)
		}
		res, err := l.store.ApplyBlock(&state.Proposal{Time: tx.FormatTime(at), Proposer: "n0", Txs: txs}, uint64(b+2), 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, rc := range res.Receipts {
			if rc.Status != chain.Accepted {
				t.Fatalf("setup: block %d tx rejected: %+v", b+1, rc.Reasons)
			}
		}
	}
	return l
}

func (l *ledger) open(t testing.TB, path string) *state.Store {
	t.Helper()
	return statetest.Open(t, path, l.g, nil)
}

func (l *ledger) trust() verify.Trust { return verify.TrustFromGenesis(l.g) }

// write makes a backup of store the way the server does, its head signed
// by key, with edit applied to the header first.
func write(t testing.TB, store *state.Store, key ed25519.PrivateKey, edit func(*chain.Head)) []byte {
	t.Helper()
	sn, err := store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	m, a, err := sn.Head()
	if err != nil {
		t.Fatal(err)
	}
	h := chain.Head{Network: m.Network, Height: m.Height, TreeSize: m.TreeSize, Root: m.Root, BlockHash: m.BlockHash, Time: m.Time, Node: "n0"}
	hdr := backup.Header{Network: m.Network, GenesisHash: m.GenesisHash, AppliedIndex: a.Index, AppliedTerm: a.Term,
		Node: "n0", CreatedAt: tx.FormatTime(t0), StateBytes: sn.StreamSize()}
	if edit != nil {
		edit(&h)
	}
	if err := h.Sign(key); err != nil {
		t.Fatal(err)
	}
	hdr.Head = h
	var buf bytes.Buffer
	n, err := backup.Write(&buf, hdr, sn.WriteTo)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := backup.Size(hdr); size != n || int64(buf.Len()) != n {
		t.Fatalf("Size says %d, Write wrote %d (buffer %d)", size, n, buf.Len())
	}
	return buf.Bytes()
}

func check(t *testing.T, l *ledger, data []byte) (*backup.Report, error) {
	t.Helper()
	return backup.Verify(bytes.NewReader(data), t.TempDir(), backup.Options{Genesis: l.g, Trust: l.trust()})
}

func TestABackupVerifiesAgainstItsGenesisAndTrustedNodes(t *testing.T) {
	l := newLedger(t, 4)
	data := write(t, l.store, l.nodeKey, nil)
	rep, err := check(t, l, data)
	if err != nil {
		t.Fatal(err)
	}
	m := l.store.Meta()
	if rep.Header.Head.Height != 4 || rep.Chain.Height != 4 || rep.Chain.TreeSize != 12 || rep.Chain.BlockHash != m.BlockHash || rep.FileBytes != int64(len(data)) {
		t.Fatalf("report %+v, want height 4, tree 12, block %s, %d bytes", rep, m.BlockHash, len(data))
	}
	// Extract leaves a state the store opens, at the backup's head.
	path := filepath.Join(t.TempDir(), "restored.db")
	if _, err := backup.Extract(bytes.NewReader(data), path, backup.Options{Genesis: l.g, Trust: l.trust()}); err != nil {
		t.Fatal(err)
	}
	restored := l.open(t, path)
	d1, _ := l.store.Digest()
	d2, _ := restored.Digest()
	if d1 != d2 || restored.Meta().Height != 4 {
		t.Fatalf("restored digest %s height %d, original %s height 4", d2, restored.Meta().Height, d1)
	}
}

// wantErr checks that err is of kind and says what.
func wantErr(t *testing.T, err error, kind error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("verified; want %v (%s)", kind, what)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %v; want %v", err, kind)
	}
	if !strings.Contains(err.Error(), what) {
		t.Fatalf("error %q does not say %q", err, what)
	}
}

func TestTruncatedBackupsAreRefusedAsTruncated(t *testing.T) {
	l := newLedger(t, 3)
	data := write(t, l.store, l.nodeKey, nil)
	if _, err := check(t, l, data); err != nil {
		t.Fatalf("setup: the whole file does not verify: %v", err)
	}
	hdrLen := len(backup.Magic) + 4 + int(binary.BigEndian.Uint32(data[len(backup.Magic):]))
	for _, tc := range []struct {
		name string
		keep int
		what string
	}{
		{"empty", 0, "not a tradeledger backup"},
		{"in the magic", 5, "not a tradeledger backup"},
		{"in the header", hdrLen - 10, "truncated in its header"},
		{"in the state", hdrLen + (len(data)-hdrLen)/2, "truncated"},
		{"before the state's checksum", len(data) - 44 - 10, "truncated"},
		{"without the trailer", len(data) - 44, "trailer is missing"},
		{"in the trailer's checksum", len(data) - 10, "trailer is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := check(t, l, data[:tc.keep])
			wantErr(t, err, backup.ErrIntegrity, tc.what)
		})
	}
}

func TestCorruptedBackupsAreRefused(t *testing.T) {
	l := newLedger(t, 3)
	data := write(t, l.store, l.nodeKey, nil)
	if _, err := check(t, l, data); err != nil {
		t.Fatalf("setup: the untouched file does not verify: %v", err)
	}
	hdrLen := len(backup.Magic) + 4 + int(binary.BigEndian.Uint32(data[len(backup.Magic):]))
	flip := func(at int) []byte {
		c := append([]byte(nil), data...)
		c[at] ^= 0x01
		return c
	}
	createdAt := bytes.Index(data, []byte(`"createdAt":"`)) + len(`"createdAt":"`) + 3
	for _, tc := range []struct {
		name string
		data []byte
		kind error
		what string
	}{
		{"one bit of the magic", flip(2), backup.ErrIntegrity, "not a tradeledger backup"},
		{"one bit of an unsigned header field", flip(createdAt), backup.ErrIntegrity, "checksum mismatch"},
		{"one bit of the database", flip(hdrLen + 4096 + 100), backup.ErrIntegrity, "checksum mismatch"},
		{"one bit of the trailer", flip(len(data) - 1), backup.ErrIntegrity, "checksum mismatch"},
		{"trailing garbage", append(append([]byte(nil), data...), 'x'), backup.ErrIntegrity, "after the trailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := check(t, l, tc.data)
			wantErr(t, err, tc.kind, tc.what)
		})
	}
}

func TestHeadGenesisAndChainFailuresAreNamed(t *testing.T) {
	l := newLedger(t, 3)
	stranger, _ := tx.GenerateKey()
	// Another network's genesis.
	other := newLedger(t, 1)
	_, err := backup.Verify(bytes.NewReader(write(t, l.store, l.nodeKey, nil)), t.TempDir(), backup.Options{Genesis: other.g, Trust: other.trust()})
	wantErr(t, err, backup.ErrGenesis, "pass the genesis of the network")

	// A head signed by a key the trust file does not name.
	_, err = check(t, l, write(t, l.store, stranger, nil))
	wantErr(t, err, backup.ErrHead, "not trusted")

	// A trusted head of another height than the state in the file.
	_, err = check(t, l, write(t, l.store, l.nodeKey, func(h *chain.Head) { h.Height = 7 }))
	wantErr(t, err, backup.ErrHead, "does not describe the state")

	// A database whose block 2 was altered after the fact (and whose file
	// checksums were made anew): the chain check finds it.
	tampered := filepath.Join(t.TempDir(), "tampered.db")
	if _, err := backup.Extract(bytes.NewReader(write(t, l.store, l.nodeKey, nil)), tampered, backup.Options{Genesis: l.g, Trust: l.trust()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(b *bolt.Tx) error
		what string
	}{
		{"block header", func(b *bolt.Tx) error {
			return editJSON(b, "blocks", u64(2), func(m map[string]any) { m["header"].(map[string]any)["time"] = "2026-03-01T12:00:02.500000Z" })
		}, "block 2: stored hash"},
		{"receipt", func(b *bolt.Tx) error {
			return editJSON(b, "receipts", u64(4), func(m map[string]any) { m["status"] = "rejected" })
		}, "block 2: ledger root"},
		{"transaction", func(b *bolt.Tx) error {
			return b.Bucket([]byte("txs")).Put(u64(4), []byte(`{"v":1}`))
		}, "block 2: leaf 4: receipt names transaction"},
		{"missing block", func(b *bolt.Tx) error { return b.Bucket([]byte("blocks")).Delete(u64(2)) }, "block 2: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			copyFile(t, tampered, path)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.edit); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = check(t, l, write(t, l.open(t, path), l.nodeKey, nil))
			wantErr(t, err, backup.ErrChain, tc.what)
		})
	}
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func editJSON(b *bolt.Tx, bucket string, key []byte, edit func(map[string]any)) error {
	bk := b.Bucket([]byte(bucket))
	var m map[string]any
	if err := json.Unmarshal(bk.Get(key), &m); err != nil {
		return err
	}
	edit(m)
	raw, _ := json.Marshal(m)
	return bk.Put(key, raw)
}

func copyFile(t *testing.T, from, to string) {
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func FuzzBackupReader(f *testing.F) {
	l := newLedger(f, 2)
	f.Add(write(f, l.store, l.nodeKey, nil))
	f.Add([]byte(backup.Magic + "\x00\x00\x00\x02{}"))
	f.Add([]byte("TLSNAP1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Whatever the bytes, the reader answers or refuses; it never
		// panics, and a refusal is an integrity error.
		r, err := backup.NewReader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, backup.ErrIntegrity) {
				t.Fatalf("refusal %v is not an integrity error", err)
			}
			return
		}
		path := filepath.Join(t.TempDir(), "state.db")
		if err := state.WriteSnapshotFile(r.State(), path); err != nil {
			return
		}
		_ = r.Close()
	})
}
