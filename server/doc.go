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
// controller.AutoHEP runs in every server. Members of one cluster compute
// the same desired endpoints, so concurrent controllers converge: a lost
// race is an "already exists" or "update conflict" error that is logged,
// counted and retried.
//
// # Health
//
// /liveness answers 200 unless the embedded member has failed. /readiness
// answers 200 when the datastore serves a read within two seconds, the
// default resources exist and the controllers are synced, and 503 with one
// line per reason otherwise. /metrics serves Prometheus metrics (Go and
// process collectors and palisade_autohep_*). They listen on
// Config.HealthListen, 127.0.0.1:9099 by default.
//
// # Shutdown
//
// Close (and Run when its context ends, e.g. on SIGTERM) stops the
// controllers, then the HTTP server, then the datastore client, then the
// embedded member, each step bounded by Config.ShutdownTimeout.
package server
