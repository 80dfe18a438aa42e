// Command ledgerctl is the command-line client of a tradeledger network.
package main

import (
	"os"

	"github.com/tradeledger/tradeledger/ledgernode/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
