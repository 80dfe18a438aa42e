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
package faults
