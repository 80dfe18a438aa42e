// Package wire is the ledger's vocabulary as clients see it: the payloads
// a client signs (with the Validate each carries, run by the client before
// signing and by the node before and at apply), the transaction type names,
// the records and verdicts the node answers with, and the HTTP API's
// request and response types. The node's state machine (packages state and
// trade) stores and applies these same types, so the JSON a client sends
// and reads is the JSON the ledger signs, stores and replays, byte for byte.
//
// It must never import the node: no state, trade, consensus, bbolt or Raft,
// so that the Go client, ledgerctl and the operator link none of them
// (`make lint` checks it), and no policy engine (CEL): it imports only
// tx, chain and verify, the pure packages of the envelope, the hash chain
// and its proofs. The policy records the API returns are package policy's
// (policy.Head, policy.Response, ...).
package wire
