// Package server is the node's HTTP API (/v1/...), health and metrics.
// It maps every error to a status code in one place (errors.go), forwards
// writes and strong reads to the leader, and never interprets transactions
// beyond calling state and consensus.
package server
