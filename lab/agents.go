package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// agentsReady waits until every agent's /readiness answers 200, and
// returns a note per agent whose health endpoint the step's own policy cuts
// off (see agentReachable). The stand-in has no health endpoint.
func (l *Lab) agentsReady(ctx context.Context, timeout time.Duration) ([]string, error) {
	if l.cfg.Enforcer == "standin" {
		return nil, nil
	}
	var mu sync.Mutex
	var notes []string
	var errs []error
	var wg sync.WaitGroup
	for _, n := range l.topo.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			note, err := l.agentReachable(ctx, n.Name, timeout)
			mu.Lock()
			defer mu.Unlock()
			if note != "" {
				notes = append(notes, note)
			}
			errs = append(errs, err)
		}()
	}
	wg.Wait()
	return notes, errors.Join(errs...)
}

// agentReachable waits for one agent to be ready. Its health endpoint
// listens on 127.0.0.1 inside the node, and a host endpoint that covers lo
// (a wildcard one, such as the automatic host endpoints) polices even that:
// when the request gets no answer at all, the lab asks explain whether the
// policy in force drops node → 127.0.0.1:9091, and if so notes it instead of
// failing (the node's convergence already shows the agent read the step's
// state from the datastore).
func (l *Lab) agentReachable(ctx context.Context, node string, timeout time.Duration) (string, error) {
	err := l.agentReady(ctx, node)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		f := flow{from: "node:" + node, to: "127.0.0.1", port: fmt.Sprintf("%d/TCP", agentHealthPort)}
		if v, _ := l.explain(f); v == "deny" {
			return fmt.Sprintf("the agent's health endpoint on %s is cut off by the policy in force, as explain says", node), nil
		}
	}
	if err != nil {
		err = waitFor(ctx, timeout, func() error { return l.agentReady(ctx, node) })
	}
	return "", err
}

// agentReady asks one agent's /readiness, from inside its namespace.
func (l *Lab) agentReady(ctx context.Context, node string) error {
	n := l.nss[NodeNS(node)]
	tr := &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, netw, addr string) (net.Conn, error) {
			var c net.Conn
			err := n.Do(func() (err error) {
				c, err = (&net.Dialer{Timeout: time.Second}).DialContext(ctx, netw, addr)
				return err
			})
			return c, err
		}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + agentHealthListen + "/readiness")
	if err != nil {
		return fmt.Errorf("agent on %s: %w", node, err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 2048)
	k, _ := resp.Body.Read(buf)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("agent on %s: %s", node, strings.TrimSpace(string(buf[:k])))
	}
	return nil
}
