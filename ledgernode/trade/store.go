package trade

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Buckets of the trade records. Every record is JSON written with
// state.PutJSON; index buckets hold empty values under composite keys whose
// parts are separated by "\x00", so that a prefix scan answers a query
// without reading unrelated records.
const (
	BucketAgencies     = "trade.agencies"     // agency id -> Agency
	BucketParticipants = "trade.participants" // participant id -> Participant
	BucketCertificates = "trade.certificates" // certificate id -> CertificateRecord
	BucketCertVersions = "trade.certversions" // certificate id \x00 version(10 digits) -> CertificateVersion
	BucketCertIndex    = "trade.certindex"    // importer|exporter|certifier \x00 participant \x00 id; hs \x00 code \x00 id
	BucketRights       = "trade.rights"       // right id -> IPRight
	BucketLicenses     = "trade.licenses"     // license id -> License
	BucketLicenseIndex = "trade.licenseindex" // licensee \x00 participant \x00 right \x00 id; licensor ...; right \x00 right \x00 id; parent \x00 parent \x00 id
	BucketShipments    = "trade.shipments"    // shipment id -> Shipment
)

func ikey(parts ...string) string { return strings.Join(parts, "\x00") }

func versionKey(id string, v int) string { return ikey(id, fmt.Sprintf("%010d", v)) }

// scanIndex lists the last part of index keys that start with prefix, in
// key order, after the cursor `after` ("" = from the start), at most limit
// (0 = all). It returns the cursor of the next page ("" when the scan
// reached the end).
//
// A cursor is the last index key read, base64url-encoded: opaque, and safe
// to paste into a shell (index keys hold NUL bytes). A cursor that does not
// decode, or that belongs to another listing (another prefix), is an
// error naming "after": a script that loops on pages must never be sent
// back to page 1.
func scanIndex(r state.Reader, bucket, prefix, after string, limit int) (ids []string, next string, err error) {
	from := ""
	if after != "" {
		raw, derr := base64.RawURLEncoding.Strict().DecodeString(after)
		if derr != nil || !strings.HasPrefix(string(raw), prefix) || len(raw) == len(prefix) {
			return nil, "", wire.Reject(wire.CodeInvalid, "after", "%q is not a cursor of this listing: pass the \"next\" value of the previous page of the same listing as it is (or omit after for the first page)",
				tx.Shorten(after, 64))
		}
		from = string(raw)
	}
	last := from
	r.Scan(bucket, prefix, func(k string, _ []byte) bool {
		if from != "" && k <= from {
			return true
		}
		if limit > 0 && len(ids) == limit {
			next = base64.RawURLEncoding.EncodeToString([]byte(last))
			return false
		}
		ids = append(ids, k[strings.LastIndexByte(k, 0)+1:])
		last = k
		return true
	})
	return ids, next, nil
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultListLimit
	case n > maxListLimit:
		return maxListLimit
	}
	return n
}
