package store_test

import (
	"strconv"
	"testing"

	"github.com/palisade-net/palisade/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func wep(ns, name string) *api.WorkloadEndpoint {
	return &api.WorkloadEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec:       api.WorkloadEndpointSpec{Node: "node1", Pod: name, IPNetworks: []string{"10.0.0.1/32"}},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustRev(t testing.TB, o api.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
