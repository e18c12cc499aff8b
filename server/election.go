package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/palisade-net/palisade/rollback"
	"github.com/palisade-net/palisade/store"
)

// ElectionPrefix is the etcd key prefix of the controller leader election.
// It lies outside the resources, so no watch of resources sees it.
const ElectionPrefix = store.Prefix + "election/controllers"

// electionTTL is the lease of a leader, in seconds: after a leader dies
// without resigning, another server takes over within this time.
const electionTTL = 5

// Controller roles of a server.
const (
	RoleCampaigning = "campaigning" // the election outcome is not known yet
	RoleStandby     = "standby"     // another server runs the controllers
	RoleLeader      = "leader"      // this server runs the controllers
)

// runControllers campaigns for the controller leadership and runs the
// controllers while this server leads, until ctx is done. Only one server
// of a cluster runs them, so servers never race each other's writes.
func (s *Server) runControllers(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.leadOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.setRole(RoleCampaigning, "")
		s.log.Warn("controller leadership lost; campaigning again", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// leadOnce opens an election session, waits to be elected, and runs the
// controllers until the session ends or ctx is done.
func (s *Server) leadOnce(ctx context.Context) error {
	cli := s.st.Client()
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(electionTTL), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("election session: %w", err)
	}
	defer func() {
		// Revoke the lease at once (even after ctx is done) so that another
		// server takes over without waiting for the TTL.
		sess.Orphan()
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = cli.Revoke(rctx, sess.Lease())
		cancel()
	}()
	el := concurrency.NewElection(sess, ElectionPrefix)
	obsCtx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	go s.observeLeader(obsCtx, el)
	if err := el.Campaign(ctx, s.identity); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	stopObserving()
	s.setRole(RoleLeader, s.identity)
	s.log.Info("elected to run the controllers", "identity", s.identity)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	if s.kube != nil {
		mctx, stopMirror := context.WithCancel(lctx)
		mirrorDone := make(chan struct{})
		go func() {
			defer close(mirrorDone)
			if err := s.kube.Run(mctx); err != nil {
				s.log.Error("kubernetes mirror stopped", "error", err)
			}
		}()
		defer func() { stopMirror(); <-mirrorDone }()
	}
	go s.keepDefaults(lctx)
	go rollback.Run(lctx, s.st.Client(), s.st, time.Second, s.log) // unconfirmed changes, at their deadline
	if err := s.ctl.Run(lctx); err != nil {
		return err
	}
	if ctx.Err() == nil {
		return errors.New("election session expired")
	}
	return nil
}

// observeLeader marks this server standby while another one leads.
func (s *Server) observeLeader(ctx context.Context, el *concurrency.Election) {
	for resp := range el.Observe(ctx) {
		if len(resp.Kvs) == 0 {
			continue
		}
		if leader := string(resp.Kvs[0].Value); leader != s.identity && ctx.Err() == nil {
			s.setRole(RoleStandby, leader)
		}
	}
}

func (s *Server) setRole(role, leader string) {
	s.mu.Lock()
	changed := s.role != role || s.leader != leader
	s.role, s.leader = role, leader
	s.mu.Unlock()
	if role == RoleLeader {
		s.leaderGauge.Set(1)
	} else {
		s.leaderGauge.Set(0)
	}
	if changed && role == RoleStandby {
		s.log.Info("standby: another server runs the controllers", "leader", leader)
	}
}

// Role returns this server's controller role and the leader's identity
// when known.
func (s *Server) Role() (role, leader string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role, s.leader
}

func newLeaderGauge() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "palisade", Subsystem: "server", Name: "controller_leader",
		Help: "1 while this server is the elected leader that runs the controllers."})
}

// instances tells apart the servers of one process (tests).
var instances atomic.Int64

// identityOf names this server in the election: the member name (or
// "external"), host name and pid.
func identityOf(cfg Config) string {
	host, _ := os.Hostname()
	name := pick(cfg.Name, store.DefaultEmbedName)
	if !cfg.Embedded() {
		name = "external"
	}
	return fmt.Sprintf("%s@%s/%d/%d", name, host, os.Getpid(), instances.Add(1))
}
