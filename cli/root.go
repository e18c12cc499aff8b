package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/version"
)

// streams are the command's standard input and outputs.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// exitError carries an exit status up to Run without printing anything more.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Run executes palisade with args (without the program name) and returns the
// exit status: 0 on success, 1 on any error.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &streams{in: stdin, out: stdout, err: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "Error:", err)
	return 1
}

// ProgramName is how help texts name the command: "palisade", or
// "kubectl palisade" when the binary runs as a kubectl plugin.
var ProgramName = "palisade"

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "palisade",
		Short: "Calico-compatible network policy for Linux hosts, Kubernetes nodes and pods",
		Long: "palisade enforces Calico-style network policy with nftables, and explains every decision.\n" +
			"It reads the YAML users already write for Calico (projectcalico.org/v3, crd.projectcalico.org/v1)\n" +
			"and Kubernetes networking.k8s.io/v1 NetworkPolicy.",
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range commands {
		root.AddCommand(c(s))
	}
	if ProgramName != "palisade" {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: ProgramName}
		renameExamples(root)
	}
	return root
}

// renameExamples makes every example say ProgramName ("kubectl palisade").
func renameExamples(c *cobra.Command) {
	c.Example = strings.ReplaceAll(c.Example, "palisade ", ProgramName+" ")
	for _, sub := range c.Commands() {
		renameExamples(sub)
	}
}

// commands are the subcommands; each command's file registers itself in an
// init function, so commands can be added without touching this file.
var commands []func(*streams) *cobra.Command

func register(c func(*streams) *cobra.Command) { commands = append(commands, c) }

func init() { register(newValidate); register(newExplain); register(newMatrix); register(newDemo) }
