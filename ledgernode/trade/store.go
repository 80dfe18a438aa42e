package trade

import (
	"fmt"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/state"
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
// key order, strictly after the index key `after` ("" = from the start), at
// most limit (0 = all). It returns the last index key read: the cursor for
// the next page ("" when the scan reached the end).
func scanIndex(r state.Reader, bucket, prefix, after string, limit int) (ids []string, next string) {
	r.Scan(bucket, prefix, func(k string, _ []byte) bool {
		if after != "" && k <= after {
			return true
		}
		if limit > 0 && len(ids) == limit {
			next = after
			return false
		}
		ids = append(ids, k[strings.LastIndexByte(k, 0)+1:])
		after = k
		return true
	})
	return ids, next
}

func get[T any](r state.Reader, bucket, key string) (*T, bool, error) {
	var v T
	ok, err := state.GetJSON(r, bucket, key, &v)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &v, true, nil
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
