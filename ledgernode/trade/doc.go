// Package trade holds the trade records the ledger exists for: agencies and
// the participants they enrol, key rotation, certificates of origin (USMCA,
// CAFTA-DR, legacy NAFTA), intellectual-property rights and license chains,
// and shipments (entries); and the verdicts asked of them at the border:
// is this certificate valid on this date, may this importer bring in these
// goods under this right, does this entry hold up line by line, each with
// the inclusion proofs of the records relied on. Records export as W3C
// Verifiable Credentials shaped after the Traceability Vocabulary.
//
// Every transaction type is a state.Handler: a stateless Check of the
// payload and a deterministic Apply that judges everything at block time
// (c.Time). Verdicts read a state view and an explicit `at`, never the
// clock, so every node gives the same answer at the same height.
//
// What this package must never do: read the wall clock, iterate a Go map
// into state or into a verdict, scan all records to answer a question about
// one (queries go through indexes), or import the node's transport.
package trade
