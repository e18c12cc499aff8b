package lab

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/palisade-net/palisade/internal/netlab"
)

// ExecTarget names the lab namespace of NS/POD (a pod), node:NAME or NAME
// (a node or outside host): what `palisade lab exec` enters, as `kubectl
// exec` enters a pod.
func ExecTarget(t *Topology, target string) (string, error) {
	if ns, pod, ok := strings.Cut(target, "/"); ok {
		for _, p := range t.Pods {
			if p.Namespace == ns && p.Name == pod {
				return PodNS(ns, pod), nil
			}
		}
		return "", fmt.Errorf("no pod %s in the lab", target)
	}
	name := strings.TrimPrefix(target, "node:")
	for _, n := range t.Nodes {
		if n.Name == name {
			return NodeNS(name), nil
		}
	}
	for _, h := range t.Hosts {
		if h.Name == name {
			return NodeNS(name), nil
		}
	}
	return "", fmt.Errorf("no pod, node or host %q in the lab (pods are NAMESPACE/POD)", target)
}

// Exec runs argv inside the lab namespace of target with the given
// standard streams and returns its exit status.
func Exec(t *Topology, target string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	name, err := ExecTarget(t, target)
	if err != nil {
		return 0, err
	}
	if len(argv) == 0 {
		return 0, fmt.Errorf("lab exec: no command (palisade lab exec %s -- CMD ARGS...)", target)
	}
	ns, err := netlab.OpenNamed(name)
	if err != nil {
		return 0, fmt.Errorf("lab exec: %s: %w (is the lab up?)", name, err)
	}
	defer ns.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	start := func() error { return ns.Do(cmd.Start) }
	if hasNames(name) {
		// ip netns exec mounts the pod's hosts and resolv.conf (dns.go).
		cmd = exec.Command("ip", append([]string{"netns", "exec", name}, argv...)...)
		start = cmd.Start
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := start(); err != nil {
		return 0, fmt.Errorf("lab exec: %w", err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}
