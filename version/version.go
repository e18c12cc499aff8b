package version

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Version is the release.
var Version = "v0.1.0-dev"

// AgentAnnotation is the Node annotation in which an agent records its
// version ("<version> (<commit>)").
const AgentAnnotation = "palisade.io/agent-version"

// ServersPrefix is the etcd prefix under which each server records its
// Info (JSON) at its member name.
const ServersPrefix = "/palisade/versions/servers/"

// Info is one binary's version.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
}

var buildInfo = sync.OnceValue(func() Info {
	i := Info{Version: Version, Commit: "unknown", Date: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Commit = s.Value
			case "vcs.time":
				i.Date = s.Value
			}
		}
	}
	return i
})

// Get returns this binary's version.
func Get() Info { return buildInfo() }

// String is "<version> (<commit>)".
func (i Info) String() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	return fmt.Sprintf("%s (%s)", i.Version, c)
}
