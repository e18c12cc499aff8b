// Package install puts palisade-cni into a node's CNI configuration, as
// chained plugins are installed: into the container runtime's first
// configuration in the directory (the lexically first .conf, .conflist or
// .json, the one the runtime uses), wrapping a single-plugin .conf into a
// .conflist, appending palisade's entry last unless it is there, and
// writing atomically (a temporary file renamed over the old one). It never
// deletes another configuration; a wrapped .conf is replaced by its
// .conflist. Uninstall removes the entry and nothing else. Keep re-inserts
// the entry when the primary CNI rewrites its file.
package install
