package lab

import (
	"context"
	"fmt"
	"maps"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// systemNamespaces are the apiserver's own namespaces: never deleted by a
// reset.
var systemNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true,
	"kube-node-lease": true}

// kubeReset brings the apiserver back to the topology (the unprotected
// lab): the topology's Namespaces, Nodes, Services and Pods exist with its
// labels, specs and status (the lab writes status as a kubelet would), and
// every NetworkPolicy, Pod, Service and Namespace the steps added is gone
// (the lab finalizes deleted namespaces as the namespace controller would).
func (l *Lab) kubeReset(ctx context.Context) error {
	// Namespaces first (the rest lives in them); extra ones last, once
	// empty.
	for _, step := range []func(context.Context) error{
		l.resetNamespaces(false), l.resetNodes, l.resetServices, l.resetPods, l.deleteNetworkPolicies,
		l.resetNamespaces(true),
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// labelsOf returns a copy of m, never nil.
func labelsOf(m map[string]string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

var (
	create = metav1.CreateOptions{}
	update = metav1.UpdateOptions{}
	list   = metav1.ListOptions{}
	now    = int64(0)
	force  = metav1.DeleteOptions{GracePeriodSeconds: &now}
)

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// resetNamespaces creates the topology's namespaces and restores their
// labels, or (prune) deletes the others.
func (l *Lab) resetNamespaces(prune bool) func(context.Context) error {
	return func(ctx context.Context) error { return l.resetNamespacesOnce(ctx, prune) }
}

func (l *Lab) resetNamespacesOnce(ctx context.Context, prune bool) error {
	c := l.kube.CoreV1().Namespaces()
	have, err := c.List(ctx, list)
	if err != nil {
		return err
	}
	want := map[string]*corev1.Namespace{}
	for _, o := range l.baseline() {
		if x, ok := o.(*corev1.Namespace); ok {
			want[x.Name] = x
		}
	}
	for i := range have.Items {
		cur := &have.Items[i]
		w, ok := want[cur.Name]
		delete(want, cur.Name)
		if !ok && systemNamespaces[cur.Name] {
			// Not the topology's (lab up --empty): back to the apiserver's
			// own labels.
			w, ok = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cur.Name}}, true
		}
		switch {
		case !ok && prune && !systemNamespaces[cur.Name]:
			if err := l.deleteNamespace(ctx, cur.Name); err != nil {
				return err
			}
			continue
		case !ok || prune:
			continue
		}
		labels := labelsOf(w.Labels)
		labels[corev1.LabelMetadataName] = w.Name // the apiserver's own
		if !maps.Equal(labels, cur.Labels) {
			cur.Labels = labels
			if _, err := c.Update(ctx, cur, update); err != nil {
				return fmt.Errorf("lab: reset namespace %s: %w", cur.Name, err)
			}
		}
	}
	for _, w := range want {
		if prune {
			break
		}
		if _, err := c.Create(ctx, w.DeepCopy(), create); err != nil {
			return fmt.Errorf("lab: create namespace %s: %w", w.Name, err)
		}
	}
	return nil
}

// deleteNamespace deletes a namespace and finalizes it, as the namespace
// controller (not running here) would once the namespace is empty.
func (l *Lab) deleteNamespace(ctx context.Context, name string) error {
	c := l.kube.CoreV1().Namespaces()
	if err := ignoreNotFound(c.Delete(ctx, name, metav1.DeleteOptions{})); err != nil {
		return err
	}
	cur, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ignoreNotFound(err)
	}
	cur.Spec.Finalizers = nil
	_, err = c.Finalize(ctx, cur, update)
	return ignoreNotFound(err)
}

func (l *Lab) resetNodes(ctx context.Context) error {
	c := l.kube.CoreV1().Nodes()
	for _, o := range l.baseline() {
		w, ok := o.(*corev1.Node)
		if !ok {
			continue
		}
		cur, err := c.Get(ctx, w.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cur, err = c.Create(ctx, w.DeepCopy(), create)
		}
		if err != nil {
			return fmt.Errorf("lab: node %s: %w", w.Name, err)
		}
		if !maps.Equal(labelsOf(w.Labels), labelsOf(cur.Labels)) {
			cur.Labels = labelsOf(w.Labels)
			if cur, err = c.Update(ctx, cur, update); err != nil {
				return fmt.Errorf("lab: reset node %s: %w", w.Name, err)
			}
		}
		if !reflect.DeepEqual(cur.Status.Addresses, w.Status.Addresses) {
			cur.Status.Addresses = w.Status.Addresses // the kubelet's report
			if _, err := c.UpdateStatus(ctx, cur, update); err != nil {
				return fmt.Errorf("lab: node %s status: %w", w.Name, err)
			}
		}
	}
	return nil
}

// sameService reports whether the stored Service cur is the topology's w
// in what a step may change (labels, type, selector, traffic policy,
// ports; a node port w leaves to the apiserver is not compared).
func sameService(cur, w *corev1.Service) bool {
	typ := func(s *corev1.Service) corev1.ServiceType {
		if s.Spec.Type == "" {
			return corev1.ServiceTypeClusterIP
		}
		return s.Spec.Type
	}
	etp := func(s *corev1.Service) corev1.ServiceExternalTrafficPolicy {
		if s.Spec.ExternalTrafficPolicy == "" && typ(s) != corev1.ServiceTypeClusterIP {
			return corev1.ServiceExternalTrafficPolicyCluster
		}
		return s.Spec.ExternalTrafficPolicy
	}
	if !maps.Equal(labelsOf(cur.Labels), labelsOf(w.Labels)) || !maps.Equal(cur.Spec.Selector, w.Spec.Selector) ||
		typ(cur) != typ(w) || etp(cur) != etp(w) || len(cur.Spec.Ports) != len(w.Spec.Ports) {
		return false
	}
	for i, wp := range w.Spec.Ports {
		cp := cur.Spec.Ports[i]
		proto := wp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		target := wp.TargetPort
		if target.IntValue() == 0 && target.StrVal == "" {
			target = intstr.FromInt32(wp.Port)
		}
		if cp.Name != wp.Name || cp.Protocol != proto || cp.Port != wp.Port || cp.TargetPort != target ||
			(wp.NodePort != 0 && cp.NodePort != wp.NodePort) {
			return false
		}
	}
	return true
}

func (l *Lab) resetServices(ctx context.Context) error {
	c := l.kube.CoreV1().Services("")
	have, err := c.List(ctx, list)
	if err != nil {
		return err
	}
	want := map[string]*corev1.Service{}
	for _, o := range l.baseline() {
		if x, ok := o.(*corev1.Service); ok {
			want[x.Namespace+"/"+x.Name] = x
		}
	}
	for i := range have.Items {
		cur := &have.Items[i]
		key := cur.Namespace + "/" + cur.Name
		if key == "default/kubernetes" {
			continue
		}
		if w, ok := want[key]; ok && sameService(cur, w) {
			delete(want, key)
			continue
		}
		err := l.kube.CoreV1().Services(cur.Namespace).Delete(ctx, cur.Name, metav1.DeleteOptions{})
		if err := ignoreNotFound(err); err != nil {
			return fmt.Errorf("lab: delete service %s: %w", key, err)
		}
	}
	for key, w := range want {
		if _, err := l.kube.CoreV1().Services(w.Namespace).Create(ctx, w.DeepCopy(), create); err != nil {
			return fmt.Errorf("lab: create service %s: %w", key, err)
		}
	}
	return nil
}

func (l *Lab) resetPods(ctx context.Context) error {
	have, err := l.kube.CoreV1().Pods("").List(ctx, list)
	if err != nil {
		return err
	}
	want := map[string]*corev1.Pod{}
	for _, o := range l.baseline() {
		if x, ok := o.(*corev1.Pod); ok {
			want[x.Namespace+"/"+x.Name] = x
		}
	}
	for i := range have.Items {
		cur := &have.Items[i]
		key := cur.Namespace + "/" + cur.Name
		w, ok := want[key]
		if !ok {
			err := l.kube.CoreV1().Pods(cur.Namespace).Delete(ctx, cur.Name, force)
			if err := ignoreNotFound(err); err != nil {
				return fmt.Errorf("lab: delete pod %s: %w", key, err)
			}
			continue
		}
		delete(want, key)
		if err := l.syncPod(ctx, cur, w); err != nil {
			return err
		}
	}
	for key, w := range want {
		cur, err := l.kube.CoreV1().Pods(w.Namespace).Create(ctx, w.DeepCopy(), create)
		if err != nil {
			return fmt.Errorf("lab: create pod %s: %w", key, err)
		}
		if err := l.syncPod(ctx, cur, w); err != nil {
			return err
		}
	}
	return nil
}

// syncPod gives a pod the topology's labels and the status its kubelet
// (the lab) reports: running, with its address.
func (l *Lab) syncPod(ctx context.Context, cur, w *corev1.Pod) error {
	c := l.kube.CoreV1().Pods(cur.Namespace)
	var err error
	if !maps.Equal(labelsOf(w.Labels), labelsOf(cur.Labels)) {
		cur.Labels = labelsOf(w.Labels)
		if cur, err = c.Update(ctx, cur, update); err != nil {
			return fmt.Errorf("lab: reset pod %s/%s: %w", w.Namespace, w.Name, err)
		}
	}
	if !runningAs(cur, w) {
		return l.kubeStatus(ctx, cur.Namespace, cur.Name, w)
	}
	return nil
}

// deleteNetworkPolicies deletes every NetworkPolicy (the topology has none).
func (l *Lab) deleteNetworkPolicies(ctx context.Context) error {
	have, err := l.kube.NetworkingV1().NetworkPolicies("").List(ctx, list)
	if err != nil {
		return err
	}
	for _, np := range have.Items {
		err := l.kube.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, metav1.DeleteOptions{})
		if err := ignoreNotFound(err); err != nil {
			return fmt.Errorf("lab: delete networkpolicy %s/%s: %w", np.Namespace, np.Name, err)
		}
	}
	return nil
}
