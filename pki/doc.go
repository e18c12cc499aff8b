// Package pki issues the certificates a multi-node palisade uses: a CA,
// the server's certificate (for etcd's client and peer listeners and for
// the server's own connection), the administrator's client certificate
// (the command line) and one client certificate per node's agent. The
// common names are the etcd user names the server's authentication setup
// knows (store.AdminUser, store.NodeUser).
package pki
