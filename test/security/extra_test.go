package security

import (
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/api"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

// extraCatalogue is where domain transaction types add hostile entries.
func extraCatalogue(t *testing.T, c *testcluster.Cluster) []hostile { return nil }

func apiDetail(code, msg string) api.ErrorDetail { return api.ErrorDetail{Code: code, Message: msg} }
