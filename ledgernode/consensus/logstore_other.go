//go:build !linux

package consensus

// logMmapFlags: no read-ahead flag outside Linux (see logstore_linux.go).
const logMmapFlags = 0
