package lab

import "github.com/palisade-net/palisade/internal/netlab"

// ns is one named network namespace of the lab. The lab's names are fixed
// (palisade-control, ...), so it opens them with netlab.CreateNamed and
// netlab.OpenNamed rather than through a netlab.Lab, which randomises names.
type ns = netlab.NS
