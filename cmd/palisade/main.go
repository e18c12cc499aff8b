// Command palisade is the single palisade binary: the calicoctl-compatible
// CLI, the offline explain and matrix commands, and (later) the server,
// agent and lab roles.
package main

import (
	"os"

	"github.com/palisade-net/palisade/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
