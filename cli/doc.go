// Package cli owns palisade's command line: the cobra command tree, reading
// manifests from files, directories and standard input, and the printers for
// text, JSON and TSV output. Offline commands (validate, explain, matrix)
// build a policy.Model from manifests and ask the reference evaluator.
//
// Run is the whole program minus os.Exit, so tests drive it in-process.
package cli
