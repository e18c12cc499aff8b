// Command palisade is the single palisade binary: the calicoctl-compatible
// CLI, the offline explain and matrix commands, the server, the agent and
// the lab. Installed as kubectl-palisade it is a kubectl plugin
// (`kubectl palisade ...`), and its help says so.
package main

import (
	"os"
	"path/filepath"

	"github.com/palisade-net/palisade/cli"
)

func main() {
	if filepath.Base(os.Args[0]) == "kubectl-palisade" {
		cli.ProgramName = "kubectl palisade"
	}
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
