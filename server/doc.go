// Package server is palisade's control plane, what `palisade server` runs:
// the datastore, the controllers, and health and metrics endpoints.
//
// # Datastore
//
// By default an etcd member is embedded (store.StartEmbedded) with its data
// in Config.DataDir; Config.InitialCluster and InitialClusterState form or
// join a multi-member cluster, ClientTLS and PeerTLS secure it. With
// Config.EtcdEndpoints the server embeds nothing and uses that external
// cluster. Either way the server talks to etcd through store.NewEtcd, as the
// CLI and the agents do; for an embedded member with client TLS its own
// connection uses the member's certificate and key as a client certificate
// unless EtcdCertFile and EtcdKeyFile say otherwise.
//
// At start the default resources are created if they are missing (tier
// "default", FelixConfiguration "default", KubeControllersConfiguration
// "default" with automatic host endpoints Disabled; see DefaultResources).
// This is retried until the datastore accepts it, and only then do the
// controllers start. Every member of a cluster does it; the datastore's
// create-if-absent makes that safe.
//
// # Controllers
//
// The controllers (today controller.AutoHEP) run in one server of a cluster
// at a time: every server campaigns in an etcd election under
// ElectionPrefix (concurrency.Election on a 5 s lease) and the winner runs
// them; the others are standbys. A leader that stops cleanly revokes its
// lease and another server takes over at once; one that dies is replaced
// when its lease expires. A server whose session expires stops its
// controllers and campaigns again. With one server the election is won at
// once.
//
// # Health
//
// /liveness answers 200 unless the embedded member has failed. /readiness
// answers 200 when the datastore answered the last probe (a read every
// second), the default resources exist, and either this server leads and
// its controllers are synced or it is a standby ("ready (standby: the
// controllers run on ...)"); otherwise 503 with one line per reason. /metrics serves Prometheus metrics (Go and
// process collectors, palisade_autohep_* and
// palisade_server_controller_leader). They listen on
// Config.HealthListen, 127.0.0.1:9099 by default.
//
// # Shutdown
//
// Close (and Run when its context ends, e.g. on SIGTERM) stops the
// controllers, then the HTTP server, then the datastore client, then the
// embedded member, each step bounded by Config.ShutdownTimeout.
package server
