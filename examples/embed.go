// Package examples holds every manifest of the seed documents as files
// (see README.md in this directory) and embeds them in the palisade binary,
// so `palisade demo` runs on a fresh machine with no files at hand.
package examples

import "embed"

// FS holds the topology and every seed's manifests.
//
//go:embed topology seed000 seed001 seed002 seed003 seed004
var FS embed.FS
