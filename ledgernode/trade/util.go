package trade

import (
	"errors"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func joinOr(items []string, empty string) string {
	if len(items) == 0 {
		return empty
	}
	return strings.Join(items, ", ")
}

// fieldOf renames the field of a one-reason rejection (the core's key
// registry names "publicKey"; the payload names "publicKeys[i]").
func fieldOf(err error, field string) error {
	var rej *wire.Rejection
	if errors.As(err, &rej) && len(rej.Reasons) == 1 {
		r := rej.Reasons[0]
		r.Field = field
		return &wire.Rejection{Reasons: []chain.Reason{r}}
	}
	return err
}

// Keys of state.Document.Input: the variables agency rules read. They are
// the policy engine's (policystate.InputDoc, ...), repeated here because the
// domain does not import the engine; the evaluator refuses any other key.
// ledgernode/policy/DESIGN.md ("Inputs") documents what each holds for a
// certificate, a shipment and a license.
const (
	inputDoc         = "doc"
	inputParties     = "parties"
	inputLicensePath = "licensePath"
	inputContext     = "context"
)
