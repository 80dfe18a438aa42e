// Package pki issues and loads the network's TLS material: a network CA,
// node certificates (server and client, for mutual TLS between nodes and for
// the HTTPS API) and a Reloader that picks up rotated files without a
// restart. It knows nothing of Raft or HTTP beyond crypto/tls.
package pki
