package credential

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// Verdicts of a credential check, from the most severe.
const (
	// NotVerified: forged, tampered with, or not bound to the ledger.
	NotVerified = "NOT VERIFIED"
	// Revoked: genuine, but its status list (or its own evidence) says it
	// was revoked, withdrawn or superseded.
	Revoked = "REVOKED"
	// Suspended: genuine, but the party it vouches for is suspended now.
	Suspended = "SUSPENDED"
	// Expired and NotYetValid: genuine, outside validFrom..validUntil at
	// the time asked.
	Expired     = "EXPIRED"
	NotYetValid = "NOT YET VALID"
	// Verified: genuine, bound to its ledger records, in its validity
	// period, and not revoked or suspended as far as was checked.
	Verified = "VERIFIED"
)

// Binding is what a credential's ledger evidence supports: the claims
// rebuilt from the signed records, the keys that signed them, and any
// revocation the evidence itself records.
type Binding struct {
	Claims  *Claims
	Network string
	// RecordSigners are the key ids that signed the record the claims come
	// from: a credential its own signer re-issued is bound to the ledger
	// too.
	RecordSigners []string
	// Revoked says what revocation the evidence records, if any.
	Revoked string
}

// Binder rebuilds the claims a credential may make from its evidence
// records (in credential order), or names what is wrong with them.
type Binder func(records []verify.Evidence) (*Binding, []Problem)

// StatusFetcher returns the status list credential at url.
type StatusFetcher func(ctx context.Context, url string) ([]byte, error)

// Options configure Verify.
type Options struct {
	// At is the time the credential must be valid at (zero: now).
	At time.Time
	// Trust, when set, names the network and node keys a verifier trusts:
	// the issuer must be one of them (or the key that signed the record),
	// and every evidence record must be proven against a head they signed.
	Trust *verify.Trust
	// Bind rebuilds claims from the evidence (required).
	Bind Binder
	// Status fetches status lists; nil checks none ("status not checked").
	Status StatusFetcher
}

// StatusCheck is the outcome of one credentialStatus entry.
type StatusCheck struct {
	Purpose string `json:"purpose"`
	List    string `json:"list"`
	Index   string `json:"index"`
	// Result is "set" (revoked or suspended), "clear", or "not checked: why".
	Result string `json:"result"`
	// ListHeight is the validFrom of the list credential checked.
	ListValidFrom string `json:"listValidFrom,omitempty"`
}

// Result is the outcome of Verify.
type Result struct {
	Verdict       string        `json:"verdict"`
	Problems      []Problem     `json:"problems,omitempty"`
	ID            string        `json:"id,omitempty"`
	Types         []string      `json:"types,omitempty"`
	Issuer        string        `json:"issuer,omitempty"`
	IssuerName    string        `json:"issuerName,omitempty"`
	IssuerTrusted string        `json:"issuerTrusted,omitempty"`
	Created       string        `json:"created,omitempty"`
	ValidFrom     string        `json:"validFrom,omitempty"`
	ValidUntil    string        `json:"validUntil,omitempty"`
	At            string        `json:"at"`
	Records       int           `json:"records"`
	Ledger        string        `json:"ledger"`
	Status        []StatusCheck `json:"status,omitempty"`
	Notes         []string      `json:"notes,omitempty"`
}

// MaxCredentialBytes bounds a credential a verifier reads.
const MaxCredentialBytes = 16 << 20

// Verify checks a credential given as JSON: shape and contexts, the proof
// (suite, purpose, issuer control of the verification method, signature),
// the claims against those rebuilt from the signed ledger records in its
// evidence, trust (with Options.Trust), validity at Options.At and, with
// Options.Status, its status lists. Every failed check of the first three
// kinds is a Problem naming its field; any Problem makes it NOT VERIFIED.
func Verify(ctx context.Context, raw []byte, o Options) *Result {
	at := o.At
	if at.IsZero() {
		at = time.Now().UTC()
	}
	res := &Result{At: tx.FormatTime(at), Ledger: "no ledger records"}
	var pr problems
	finish := func() *Result {
		res.Problems = pr.list
		if len(pr.list) > 0 {
			res.Verdict = NotVerified
		}
		return res
	}
	doc, err := decodeObject(raw)
	if err != nil {
		pr.add("credential", "%v", err)
		return finish()
	}
	res.ID, _ = doc["id"].(string)
	for _, t := range asList(doc["type"]) {
		if s, ok := t.(string); ok {
			res.Types = append(res.Types, s)
		}
	}
	res.ValidFrom, _ = doc["validFrom"].(string)
	res.ValidUntil, _ = doc["validUntil"].(string)
	checkShape(&pr, doc)

	info, probs := VerifyProof(doc)
	pr.list = append(pr.list, probs...)
	if info != nil {
		res.Issuer, res.IssuerName, res.Created = info.Issuer, info.IssuerName, info.Created
	}

	records, probs := evidenceRecords(doc)
	pr.list = append(pr.list, probs...)
	res.Records = len(records)
	var bind *Binding
	if o.Bind == nil {
		pr.add("evidence", "no claim binder configured (a verifier bug)")
	} else if len(records) == 0 {
		pr.add("evidence", "no ledger records: the claims cannot be checked against the ledger")
	} else {
		var probs []Problem
		bind, probs = o.Bind(records)
		pr.list = append(pr.list, probs...)
	}
	if bind != nil && bind.Claims != nil {
		want, err := bind.Claims.document()
		if err != nil {
			pr.add("credential", "rebuilding the claims: %v", err)
		} else {
			got := map[string]any{}
			for k := range want {
				got[k] = doc[k]
			}
			for _, k := range []string{"name", "validFrom", "validUntil"} {
				if _, ok := want[k]; !ok && doc[k] != nil {
					got[k] = doc[k]
					want[k] = nil
				}
			}
			diffClaims(&pr, got, want)
		}
		checkStatusEntries(&pr, doc, bind.Claims.Status)
		if n := networkOfID(res.ID); n != "" && bind.Network != "" && n != bind.Network {
			pr.add("id", "%q names network %q, but the evidence is from network %q", res.ID, n, bind.Network)
		}
	}

	switch {
	case o.Trust == nil:
		res.Ledger = fmt.Sprintf("%d ledger record(s), not checked (pass --trust)", len(records))
		res.Notes = append(res.Notes, "issuer not checked against a trust file (pass --trust genesis.json)")
	case len(pr.list) == 0:
		trustIssuer(&pr, res, info, bind, o.Trust)
		for i := range records {
			if _, err := verify.Receipt(&records[i], *o.Trust); err != nil {
				pr.add(fmt.Sprintf("evidence[%d].ledgerRecord", i), "%v", err)
			}
		}
		if len(pr.list) == 0 {
			res.Ledger = fmt.Sprintf("%d ledger record(s) verified", len(records))
		}
	default:
		res.Ledger = fmt.Sprintf("%d ledger record(s), not verified: the claims do not match them or the proof failed", len(records))
	}
	if len(pr.list) > 0 {
		return finish()
	}

	res.Verdict = Verified
	if from, err := tx.ParseTime(res.ValidFrom); err == nil && at.Before(from) {
		res.Verdict = NotYetValid
	}
	if until, err := tx.ParseTime(res.ValidUntil); err == nil && at.After(until) {
		res.Verdict = Expired
	}
	if bind.Revoked != "" {
		res.Verdict = Revoked
		res.Notes = append(res.Notes, "the credential's own evidence records: "+bind.Revoked)
	}
	res.Status = checkStatus(ctx, doc, o, info)
	for _, s := range res.Status {
		if s.Result != "set" {
			continue
		}
		switch s.Purpose {
		case PurposeRevocation:
			res.Verdict = Revoked
		case PurposeSuspension:
			if res.Verdict != Revoked {
				res.Verdict = Suspended
			}
		}
	}
	return finish()
}

func decodeObject(raw []byte) (map[string]any, error) {
	if len(raw) > MaxCredentialBytes {
		return nil, fmt.Errorf("%d bytes: larger than %d", len(raw), MaxCredentialBytes)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if doc == nil {
		return nil, errors.New("not a JSON object")
	}
	return doc, nil
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

// checkShape: exactly the contexts of a tradeledger credential, the
// VerifiableCredential type, and no member outside the known set.
func checkShape(pr *problems, doc map[string]any) {
	ctx := asList(doc["@context"])
	if len(ctx) != 2 || ctx[0] != ContextV2 || ctx[1] != ContextV1 {
		pr.add("@context", "%s: a tradeledger credential's context is exactly [%q, %q] (the verifier holds both; nothing is fetched)", brief(doc["@context"]), ContextV2, ContextV1)
	}
	types := asList(doc["type"])
	if len(types) == 0 || types[0] != "VerifiableCredential" {
		pr.add("type", "%s: must start with VerifiableCredential", brief(doc["type"]))
	}
	for _, k := range sortedKeys(doc) {
		if !topLevel[k] {
			pr.add(k, "not part of a tradeledger credential: a claim the ledger records do not support")
		}
	}
}

// evidenceRecords decodes the ledger records of the evidence, in order.
func evidenceRecords(doc map[string]any) ([]verify.Evidence, []Problem) {
	var pr problems
	var out []verify.Evidence
	for i, e := range asList(doc["evidence"]) {
		f := fmt.Sprintf("evidence[%d]", i)
		m, ok := e.(map[string]any)
		if !ok {
			pr.add(f, "not an object")
			continue
		}
		if ts := asList(m["type"]); len(ts) != 1 || ts[0] != EvidenceType {
			pr.add(f+".type", "%s: want [%q]", brief(m["type"]), EvidenceType)
		}
		raw, err := json.Marshal(m["ledgerRecord"])
		var ev verify.Evidence
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			err = dec.Decode(&ev)
		}
		if err != nil || m["ledgerRecord"] == nil {
			pr.add(f+".ledgerRecord", "not a ledger record (tx, receipt, proof, head): %v", err)
			continue
		}
		out = append(out, ev)
	}
	return out, pr.list
}

func diffClaims(pr *problems, got, want map[string]any) {
	if got["id"] != want["id"] {
		// Another record's evidence (or another id): one problem, not a
		// diff of two unrelated records.
		pr.add("id", "%s in the credential, but its evidence records %s: the claims are not those of its ledger records", brief(got["id"]), brief(want["id"]))
		return
	}
	var all problems
	out := pr
	defer func() {
		const max = 20
		if len(all.list) > max {
			all.list = append(all.list[:max], Problem{Field: "credential", Message: fmt.Sprintf("and %d more differences from the ledger records", len(all.list)-max)})
		}
		out.list = append(out.list, all.list...)
	}()
	pr = &all
	for _, k := range sortedKeys(want) {
		if want[k] == nil {
			if got[k] != nil {
				pr.add(k, "%s in the credential is not in the ledger record", brief(got[k]))
			}
			continue
		}
		diff(pr, k, got[k], want[k])
	}
}

// checkStatusEntries: the credential's status entries are the ones the
// ledger assigned to the record (purpose and index), in lists at the
// standard path.
func checkStatusEntries(pr *problems, doc map[string]any, want []StatusRef) {
	got := asList(doc["credentialStatus"])
	if len(got) != len(want) {
		pr.add("credentialStatus", "%d entries in the credential; the ledger assigned %d", len(got), len(want))
		return
	}
	for i, w := range want {
		f := fmt.Sprintf("credentialStatus[%d]", i)
		e, ok := got[i].(map[string]any)
		if !ok {
			pr.add(f, "not an object")
			continue
		}
		entry := w.Entry("")
		list, _ := e["statusListCredential"].(string)
		path := entry["statusListCredential"].(string) // built on an empty base: the path alone
		switch {
		case e["type"] != "BitstringStatusListEntry":
			pr.add(f+".type", "%s: want BitstringStatusListEntry", brief(e["type"]))
		case e["statusPurpose"] != w.Purpose:
			pr.add(f+".statusPurpose", "%s: the ledger assigned a %s entry here", brief(e["statusPurpose"]), w.Purpose)
		case e["statusListIndex"] != entry["statusListIndex"]:
			pr.add(f+".statusListIndex", "%s: the ledger assigned index %s to this record", brief(e["statusListIndex"]), entry["statusListIndex"])
		case !strings.HasPrefix(list, "https://") || !strings.HasSuffix(list, path):
			pr.add(f+".statusListCredential", "%s: must be a node's https URL ending in %s", brief(e["statusListCredential"]), path)
		case e["id"] != nil && e["id"] != list+"#"+entry["statusListIndex"].(string):
			pr.add(f+".id", "%s: want %s#%s", brief(e["id"]), list, entry["statusListIndex"])
		}
		for k := range e {
			if !slices.Contains([]string{"id", "type", "statusPurpose", "statusListIndex", "statusListCredential"}, k) {
				pr.add(f+"."+k, "not part of a tradeledger status entry")
			}
		}
	}
}

// trustIssuer: with a trust file, the issuer is a trusted node key or the
// key that signed the record itself.
func trustIssuer(pr *problems, res *Result, info *ProofInfo, bind *Binding, trust *verify.Trust) {
	if info == nil || info.Key == nil {
		return
	}
	id := tx.KeyID(info.Key)
	if name, ok := trust.Nodes[id]; ok {
		res.IssuerTrusted = "node " + name + " of network " + trust.Network
		return
	}
	if bind != nil && slices.Contains(bind.RecordSigners, id) {
		res.IssuerTrusted = "the key that signed the ledger record"
		return
	}
	pr.add("issuer", "%s (key %s) is not a node key of network %q (trust file) nor the key that signed the record", shorten(info.Issuer), tx.Fingerprint(info.Key), trust.Network)
}

func networkOfID(id string) string {
	rest, ok := strings.CutPrefix(id, "urn:tradeledger:")
	if !ok {
		return ""
	}
	n, _, _ := strings.Cut(rest, ":")
	return n
}

// checkStatus fetches each entry's list (online) and reads the bit.
func checkStatus(ctx context.Context, doc map[string]any, o Options, info *ProofInfo) []StatusCheck {
	var out []StatusCheck
	for _, e := range asList(doc["credentialStatus"]) {
		m, _ := e.(map[string]any)
		sc := StatusCheck{}
		sc.Purpose, _ = m["statusPurpose"].(string)
		sc.List, _ = m["statusListCredential"].(string)
		sc.Index, _ = m["statusListIndex"].(string)
		if o.Status == nil {
			sc.Result = "not checked (offline)"
			out = append(out, sc)
			continue
		}
		set, validFrom, err := readStatus(ctx, o, sc, info)
		switch {
		case err != nil:
			sc.Result = "not checked: " + err.Error()
		case set:
			sc.Result = "set"
		default:
			sc.Result = "clear"
		}
		sc.ListValidFrom = validFrom
		out = append(out, sc)
	}
	return out
}

func readStatus(ctx context.Context, o Options, sc StatusCheck, info *ProofInfo) (bool, string, error) {
	raw, err := o.Status(ctx, sc.List)
	if err != nil {
		return false, "", err
	}
	list, err := decodeObject(raw)
	if err != nil {
		return false, "", fmt.Errorf("status list %s: %v", sc.List, err)
	}
	li, probs := VerifyProof(list)
	if len(probs) > 0 {
		return false, "", fmt.Errorf("status list %s does not verify: %s", sc.List, Problems(probs).Error())
	}
	switch {
	case o.Trust != nil:
		if _, ok := o.Trust.Nodes[tx.KeyID(li.Key)]; !ok {
			return false, "", fmt.Errorf("status list signed by %s, not a node key of network %q", shorten(li.Issuer), o.Trust.Network)
		}
	case info == nil || !ed25519.PublicKey(li.Key).Equal(info.Key):
		return false, "", fmt.Errorf("status list signed by %s, not by the credential's issuer (pass --trust to accept any node of the network)", shorten(li.Issuer))
	}
	id, _ := list["id"].(string)
	if pathOf(id) != pathOf(sc.List) {
		return false, "", fmt.Errorf("the list served at %s is %s", sc.List, id)
	}
	if ts := asList(list["type"]); !slices.Contains(ts, any("BitstringStatusListCredential")) {
		return false, "", fmt.Errorf("%s is not a BitstringStatusListCredential", sc.List)
	}
	subj, _ := list["credentialSubject"].(map[string]any)
	if subj["statusPurpose"] != sc.Purpose {
		return false, "", fmt.Errorf("the list at %s is for %v, not %s", sc.List, subj["statusPurpose"], sc.Purpose)
	}
	enc, _ := subj["encodedList"].(string)
	bits, err := DecodeList(enc, StatusListBytes)
	if err != nil {
		return false, "", err
	}
	idx, err := strconv.ParseUint(sc.Index, 10, 64)
	if err != nil || idx >= uint64(len(bits))*8 {
		return false, "", fmt.Errorf("statusListIndex %q is outside the list (%d entries)", sc.Index, len(bits)*8)
	}
	validFrom, _ := list["validFrom"].(string)
	return Bit(bits, idx), validFrom, nil
}

// pathOf is the path of an https URL (nodes serve the same lists at the
// same path; the host differs from node to node).
func pathOf(u string) string {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return u
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
