// Package backup writes and checks backup files: a node's whole state at
// one committed height, streamed from a read transaction (never held in
// memory), with the ledger head of that height signed by the node that
// made it. A file can be checked offline against the network's genesis and
// trusted node keys (integrity, chain of block hashes and Merkle roots,
// head signature), and restored into a new cluster (consensus and node).
//
// It imports the ledger's domain packages (state, chain, verify) and never
// transport: a backup is made by the server and read by ledgerctl and
// ledgernode alike.
package backup
