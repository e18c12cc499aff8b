// Package version says which palisade this is: the release (set at build
// time with -ldflags "-X github.com/palisade-net/palisade/version.Version=v1.2.3"),
// and the commit and build date the Go toolchain recorded, when it did.
// Servers record theirs in the datastore (ServersPrefix) and agents in
// their Node (AgentAnnotation), so `palisade version` can report skew.
package version
