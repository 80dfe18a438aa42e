// Package faults is the reliability suite: ledger nodes run as separate OS
// processes on loopback, each with its own 127.0.0.x address; every node's
// Raft and API traffic to its peers passes through a fault-injecting TCP
// proxy that can black-hole links by source address. A nemesis schedule,
// randomised from a printed seed, kills (SIGKILL), pauses (SIGSTOP/SIGCONT),
// partitions, restarts, transfers leadership, adds and removes members and
// jumps the leader's clock while clients write and read; after healing, the
// checks prove that nothing acknowledged was lost, that all nodes agree, and
// that strong reads and writes were linearizable (porcupine).
//
//	go test ./test/faults -run TestFaultSchedules -schedules 50 -seed 1234
//
// Targeted cases run beside the schedules. quorum_test.go loses two of
// three voters for good (kill -9 and their data deleted, under write load)
// and recovers the way a person or the operator's Job does: `ledgernode
// recover` on the survivor's stopped data directory, the survivor started
// alone with --no-bootstrap, two empty members added through the admin
// API; once from the leader (nothing acknowledged may be lost) and once
// from the most lagging member (what it lost is stated and checked). Each
// takes 6-13 s (the latter at load average 25), so both run in `make test` (the whole package), not only in
// `make faults` (which runs TestFaultSchedules alone):
//
//	go test ./test/faults -run TestQuorumLoss -v
package faults
