// Command ledgerctl is the command-line client of a tradeledger network.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/tradeledger/tradeledger/ledgernode/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var ee *cli.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.Code)
		}
		os.Exit(1)
	}
}
