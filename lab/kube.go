package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/internal/kubeapi"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/kube/mirror"
)

// With Config.Kube the lab runs a real kube-apiserver beside it (`palisade
// lab --kube`): the topology's Nodes, Namespaces, Pods and Services are
// Kubernetes objects there, `palisade server --kubeconfig` mirrors them
// into the datastore, and the seeds' kubectl commands run verbatim with a
// real kubectl. The lab plays the kubelet (it writes the pods' and nodes'
// status) and the namespace controller (it finalizes namespaces it
// deletes).
const (
	kubeSubdir = "kube"
	// kubeControlPort is where the server, inside palisade-control,
	// reaches the apiserver: 127.0.0.1 of that namespace, proxied to the
	// apiserver on the machine's loopback.
	kubeControlPort = 16443
)

// kubeDir is the directory of the kube-apiserver's state and kubeconfigs.
func (l *Lab) kubeDir() string { return filepath.Join(l.dir, kubeSubdir) }

// Kubeconfig is the administrator's kubeconfig for the machine's own
// kubectl ("" without --kube).
func (l *Lab) Kubeconfig() string {
	if !l.cfg.Kube {
		return ""
	}
	return filepath.Join(l.kubeDir(), "kubeconfig")
}

// KubeAPIServer runs the lab's kube-apiserver until ctx ends (`palisade lab
// apiserver`, which the lab starts): etcd and kube-apiserver on the
// machine's loopback, kubeconfig (for the machine) and kubeconfig-control
// (for the server in controlNS, through a proxy listening on 127.0.0.1
// inside that namespace), then the file "ready".
func KubeAPIServer(ctx context.Context, dir, controlNS string, log io.Writer) error {
	bin, err := kubeapi.BinDir()
	if err != nil {
		return err
	}
	kd := filepath.Join(dir, kubeSubdir)
	srv, err := kubeapi.Start(ctx, kubeapi.Config{Dir: kd, Bin: bin, Log: log})
	if err != nil {
		return err
	}
	defer srv.Close()
	control, err := netlab.OpenNamed(controlNS)
	if err != nil {
		return err
	}
	var ln net.Listener
	err = control.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(kubeControlPort))
		return err
	})
	control.Close()
	if err != nil {
		return fmt.Errorf("lab: the apiserver's listener in %s: %w", controlNS, err)
	}
	defer ln.Close()
	go proxyTo(ln, strings.TrimPrefix(srv.URL, "https://"))
	if _, err := srv.WriteKubeconfig("kubeconfig-control", "https://127.0.0.1:"+strconv.Itoa(kubeControlPort), ""); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(kd, "ready"), []byte(srv.URL+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "kube-apiserver ready at %s (kubeconfig %s)\n", srv.URL, srv.Kubeconfig)
	select {
	case <-ctx.Done():
		return nil
	case <-srv.Done():
		return errors.New("lab: kube-apiserver exited")
	}
}

// proxyTo forwards every connection ln accepts to addr.
func proxyTo(ln net.Listener, addr string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
			<-done
		}()
	}
}

// startKube starts `palisade lab apiserver` and waits until it is ready.
func (l *Lab) startKube(ctx context.Context) error {
	if _, err := kubeapi.BinDir(); err != nil {
		return fmt.Errorf("lab --kube: %w", err)
	}
	p, err := l.startProc(nil, "apiserver", "lab", "apiserver", "--dir", l.dir, "--control-netns", NodeNS(l.controlNode().Name))
	if err != nil {
		return err
	}
	dead := false
	err = waitFor(ctx, 2*time.Minute, func() error {
		if dead = !p.alive(); dead {
			return nil
		}
		_, err := os.Stat(filepath.Join(l.kubeDir(), "ready"))
		return err
	})
	if dead {
		err = errors.New("it exited")
	}
	if err != nil {
		return fmt.Errorf("lab: the kube-apiserver did not come up (see %s): %w", p.Log, err)
	}
	return l.openKube()
}

// openKube makes the lab's Kubernetes client.
func (l *Lab) openKube() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig())
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 500, 1000
	l.kube, err = kubernetes.NewForConfig(cfg)
	return err
}

// kubectl runs a kubectl command (or a shell line of kubectl commands) in
// the lab's directory, against its apiserver, with the kubectl of
// scripts/kube-binaries.sh first on PATH.
func (l *Lab) kubectl(ctx context.Context, c cmd) (code int, stdout, stderr string) {
	bin, err := kubeapi.BinDir()
	if err != nil {
		return -1, "", err.Error()
	}
	var x *exec.Cmd
	if c.tool == "sh" {
		x = exec.CommandContext(ctx, "bash", "-c", "set -o pipefail; "+c.args[0])
	} else {
		x = exec.CommandContext(ctx, filepath.Join(bin, "kubectl"), c.args...)
	}
	x.Dir = l.dir
	x.Env = append(os.Environ(), "KUBECONFIG="+l.Kubeconfig(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errb strings.Builder
	x.Stdout, x.Stderr = &out, &errb
	err = x.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		errb.WriteString(err.Error())
	}
	return code, out.String(), errb.String()
}

// isKubeObject reports whether o is a Kubernetes object (the apiserver's
// with --kube) rather than a Calico one.
func isKubeObject(o api.Object) bool {
	switch o.(type) {
	case *corev1.Namespace, *corev1.Pod, *corev1.Service, *corev1.Node, *corev1.ServiceAccount,
		*networkingv1.NetworkPolicy:
		return true
	}
	return false
}

// kubeFile reports whether an examples file holds Kubernetes objects (the
// examples never mix them with Calico's in one file).
func kubeFile(f string) bool {
	objs, err := decodeFS(examples.FS, f)
	return err == nil && len(objs) > 0 && isKubeObject(objs[0])
}

// kubeCaughtUp waits until the server's mirror holds every change made to
// the apiserver so far (mirror.Pending is empty).
func (l *Lab) kubeCaughtUp(ctx context.Context) error {
	err := waitFor(ctx, 20*time.Second, func() error {
		pending, err := mirror.Pending(ctx, l.kube, l.st)
		if err == nil && len(pending) > 0 {
			err = fmt.Errorf("the mirror has yet to %s", strings.Join(pending, ", "))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: the server's Kubernetes mirror did not catch up (see %s): %w", filepath.Join(l.dir, "logs"), err)
	}
	return nil
}
