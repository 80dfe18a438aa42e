package consensus

import (
	"errors"

	"github.com/hashicorp/raft"
)

// Errors the rest of the node decides on. Raft's own errors are mapped to
// these in one place (mapRaftError) so that callers never import raft.
var (
	// ErrNotLeader: this node is not the leader; nothing was proposed, so the
	// caller may safely send the same request to the leader.
	ErrNotLeader = errors.New("not the leader")
	// ErrNoLeader: there is no leader right now (election, lost quorum).
	ErrNoLeader = errors.New("no leader")
	// ErrOutcomeUnknown: the request was proposed but leadership was lost or
	// the wait timed out before commit; it may or may not be committed.
	// Resubmitting the same envelope is safe: it is accepted at most once.
	ErrOutcomeUnknown = errors.New("outcome unknown: leadership lost or timed out before commit; resubmit the same envelope (it is accepted at most once)")
	// ErrShutdown: the node is stopping.
	ErrShutdown = errors.New("node is shutting down")
	// ErrOverloaded: the batcher's queue is full.
	ErrOverloaded = errors.New("leader overloaded: too many transactions waiting; retry shortly")
)

func mapRaftError(err error, proposed bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader):
		return ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		if proposed {
			return ErrOutcomeUnknown
		}
		return ErrNotLeader
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return ErrOverloaded
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrShutdown
	}
	return err
}
