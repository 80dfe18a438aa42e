// Package consensus replicates the ledger with hashicorp/raft: the FSM that
// feeds Raft entries to the state machine, the leader's batcher that packs
// transactions into one block per Raft entry, the mutual-TLS stream layer,
// membership changes and linearizable read barriers.
//
// It never interprets transactions: new transaction types are handlers in
// package state and need no change here.
package consensus
