package main

import (
	"context"
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// streamSubmitter sends over one streaming request to the client's node,
// shared by every client goroutine that uses it (as etcd's clients share
// one gRPC connection).
func streamSubmitter(_ context.Context, cl *client.Client) (submitter, func(), error) {
	s := cl.OpenStream(0)
	return func(ctx context.Context, st *tx.Signed) error {
		resp, err := s.Submit(ctx, st)
		if err != nil {
			return err
		}
		if resp.Receipt.Status != chain.Accepted {
			return fmt.Errorf("rejected: %+v", resp.Receipt.Reasons)
		}
		return nil
	}, func() { _ = s.Close() }, nil
}
