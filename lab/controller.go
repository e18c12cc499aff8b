package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/palisade-net/palisade/store"
)

// The lab's controller (`palisade lab controller`, which `lab up` starts)
// does between runs what a cluster's kubelet, CNI plugin and kube-proxy do
// when a user changes the cluster by hand: a pod the user creates that the
// topology knows (a network namespace is waiting for it) is scheduled to
// its node and reported running with its address; every running pod has
// its WorkloadEndpoint; every node's NodePorts follow the Services. It
// stands aside while `palisade lab run` (or a test) holds the lab's run
// lock, which does the same itself.
const controllerPeriod = 300 * time.Millisecond

// Controller runs the lab's controller until ctx ends.
func Controller(ctx context.Context, cfg Config, log io.Writer) error {
	l, err := Open(cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	t := time.NewTicker(controllerPeriod)
	defer t.Stop()
	last := ""
	for {
		msg := ""
		if err := l.controlOnce(ctx); err != nil {
			msg = err.Error()
		}
		if msg != last && ctx.Err() == nil {
			if msg == "" {
				msg = "in sync again"
			}
			fmt.Fprintf(log, "%s lab controller: %s\n", time.Now().Format(time.RFC3339), msg)
			last = msg
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// controlOnce makes one pass unless a run holds the lab.
func (l *Lab) controlOnce(ctx context.Context) error {
	f, err := os.OpenFile(filepath.Join(l.dir, runLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return nil // a run drives the lab
	}
	return l.sync(ctx)
}

// sync is one pass of what the cluster's node components do: the kubelet's
// pod status, the CNI plugin's endpoints and kube-proxy's NodePorts.
func (l *Lab) sync(ctx context.Context) error {
	if err := l.kubelet(ctx); err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	if err := l.syncEndpoints(ctx); err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}
	m, err := l.liveModel(ctx)
	if err != nil {
		return err
	}
	return l.syncKubeProxy(ctx, m)
}

// kubelet schedules and starts the pods the topology has a place for:
// in the apiserver with --kube, else in the datastore. Pods the topology
// does not know stay pending (no network namespace waits for them).
func (l *Lab) kubelet(ctx context.Context) error {
	if l.cfg.Kube {
		return l.kubeKubelet(ctx)
	}
	objs, _, err := l.st.List(ctx, store.KindK8sPod, "")
	if err != nil {
		return err
	}
	for _, o := range objs {
		p, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		w, ok := l.topologyPod(p.Namespace, p.Name)
		// The topology's status as written in its files (the reset then
		// finds the pod as it left it).
		if !ok || (p.Spec.NodeName == w.Spec.NodeName && reflect.DeepEqual(p.Status, w.Status)) {
			continue
		}
		p = p.DeepCopy()
		p.Spec.NodeName = w.Spec.NodeName
		p.Status = *w.Status.DeepCopy()
		if _, err := l.st.Update(ctx, p); err != nil && !store.IsConflict(err) && !store.IsNotFound(err) {
			return fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return nil
}

func (l *Lab) kubeKubelet(ctx context.Context) error {
	pods, err := l.kube.CoreV1().Pods("").List(ctx, list)
	if err != nil {
		return err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		w, ok := l.topologyPod(p.Namespace, p.Name)
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		if p.Spec.NodeName == "" {
			b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
				Target: corev1.ObjectReference{Kind: "Node", Name: w.Spec.NodeName}}
			if err := l.kube.CoreV1().Pods(p.Namespace).Bind(ctx, b, create); err != nil {
				return fmt.Errorf("bind pod %s/%s: %w", p.Namespace, p.Name, ignoreNotFound(err))
			}
		}
		if !runningAs(p, w) {
			if err := l.kubeStatus(ctx, p.Namespace, p.Name, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// kubeStatus reports a pod running with the topology's address, as its
// kubelet would, retrying on a conflicting write.
func (l *Lab) kubeStatus(ctx context.Context, namespace, name string, w *corev1.Pod) error {
	c := l.kube.CoreV1().Pods(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if runningAs(cur, w) {
			return nil
		}
		setRunning(cur, w)
		_, err = c.UpdateStatus(ctx, cur, update)
		return err
	})
	if err := ignoreNotFound(err); err != nil {
		return fmt.Errorf("pod %s/%s status: %w", namespace, name, err)
	}
	return nil
}

// topologyPod is the topology's pod namespace/name, if the lab has one.
func (l *Lab) topologyPod(namespace, name string) (*corev1.Pod, bool) {
	for _, o := range l.topo.Objects {
		if p, ok := o.(*corev1.Pod); ok && p.Namespace == namespace && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// runningAs reports whether p's status is the running one w describes.
func runningAs(p, w *corev1.Pod) bool {
	return p.Status.Phase == w.Status.Phase && reflect.DeepEqual(p.Status.PodIPs, w.Status.PodIPs) &&
		p.Status.HostIP == w.Status.HostIP && len(p.Status.ContainerStatuses) == len(p.Spec.Containers)
}

// setRunning writes into p the status its kubelet reports once it runs:
// w's phase and addresses, ready, every container running.
func setRunning(p, w *corev1.Pod) {
	p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = w.Status.Phase, w.Status.PodIP, w.Status.PodIPs
	p.Status.HostIP, p.Status.HostIPs = w.Status.HostIP, w.Status.HostIPs
	started := metav1.Now()
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}
	p.Status.ContainerStatuses = nil
	for _, ct := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: ct.Name, Image: ct.Image,
			Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}})
	}
}

// Settle holds the lab as a run does and brings it in line with the
// datastore (pods, endpoints, NodePorts), then waits until every node
// programs the datastore's state: what a test does before it sends
// packets after a change.
func (l *Lab) Settle(ctx context.Context) error {
	unlock, err := l.lockRun()
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.kubelet(ctx); err != nil {
		return err
	}
	if l.cfg.Kube {
		if err := l.kubeCaughtUp(ctx); err != nil {
			return err
		}
	}
	return l.settle(ctx)
}

// Reset holds the lab as a run does and brings it back to the state `lab
// up` left (the unprotected lab; with --empty, without the seeds'
// namespaces, pods and services), connections forgotten.
func (l *Lab) Reset(ctx context.Context) error {
	unlock, err := l.lockRun()
	if err != nil {
		return err
	}
	defer unlock()
	return l.unprotect(ctx)
}
