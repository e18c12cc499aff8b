package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-net/palisade/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// NewObject returns an empty object of a stored kind.
func NewObject(kind Kind) (api.Object, error) {
	if kind.IsKubernetes() {
		apiVersion := api.GroupVersionCoreV1
		switch kind {
		case KindK8sNetworkPolicy:
			apiVersion = api.GroupVersionNetV1
		case KindK8sEndpointSlice:
			apiVersion = api.GroupVersionDiscV1
		}
		return api.New(strings.TrimPrefix(string(kind), "k8s/"), apiVersion)
	}
	return api.New(string(kind), api.GroupVersionV3)
}

// checkKey rejects keys that cannot be stored or looked up: unknown kinds,
// empty names, slashes, and a namespace that does not fit the kind's scope.
func checkKey(k Key) error {
	switch {
	case !k.Kind.Known():
		return fmt.Errorf("%s: unknown kind %q", k, k.Kind)
	case k.Name == "" || strings.Contains(k.Name, "/"):
		return fmt.Errorf("%s: name must be non-empty and contain no '/'", k)
	case strings.Contains(k.Namespace, "/"):
		return fmt.Errorf("%s: namespace must contain no '/'", k)
	case k.Kind.Namespaced() && k.Namespace == "":
		return fmt.Errorf("%s: kind %s is namespaced but no namespace was given", k, k.Kind)
	case !k.Kind.Namespaced() && k.Namespace != "":
		return fmt.Errorf("%s: kind %s is cluster-scoped but namespace %q was given", k, k.Kind, k.Namespace)
	}
	return nil
}

// checkListArgs validates List and Watch arguments.
func checkKind(kind Kind) error {
	if !kind.Known() {
		return fmt.Errorf("unknown kind %q", kind)
	}
	return nil
}

// encodeStored turns o into the JSON value stored at its key: a copy of o
// with kind and apiVersion set to palisade's canonical ones and no
// resourceVersion, passed through edit (which sets uid and
// creationTimestamp). o itself is not modified.
func encodeStored(o api.Object, edit func(api.Object)) ([]byte, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", api.ID(o), err)
	}
	cp, err := NewObject(KindOf(o))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, cp); err != nil {
		return nil, fmt.Errorf("copying %s: %w", api.ID(o), err)
	}
	cp.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	api.SetTypeMeta(cp)
	cp.SetResourceVersion("")
	if w, ok := cp.(*api.WorkloadEndpoint); ok {
		// As Calico stores them: the namespace and orchestrator labels
		// come from the metadata and the spec, over what the user wrote.
		labels := make(map[string]string, len(w.Labels)+2)
		for k, v := range w.Labels {
			labels[k] = v
		}
		labels[api.LabelNamespace], labels[api.LabelOrchestrator] = w.Namespace, w.Spec.Orchestrator
		w.Labels = labels
	}
	if edit != nil {
		edit(cp)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cp); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", api.ID(o), err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeStored decodes a stored value of the given kind (no validation) and
// sets its resourceVersion to modRev.
func decodeStored(kind Kind, value []byte, modRev int64) (api.Object, error) {
	o, err := NewObject(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(value, o); err != nil {
		return nil, fmt.Errorf("decoding stored %s: %w", kind, err)
	}
	o.SetResourceVersion(strconv.FormatInt(modRev, 10))
	return o, nil
}

// readStored decodes the value at key k, or returns an *api.Unreadable
// standing for it: one bad value never hides the rest of a list or stops a
// watch, and consumers see it (the policy model fails closed on it).
func readStored(k Key, value []byte, modRev int64) api.Object {
	o, err := decodeStored(k.Kind, value, modRev)
	if err == nil {
		return o
	}
	u := api.NewUnreadable(string(k.Kind), k.Namespace, k.Name, err.Error())
	u.SetResourceVersion(strconv.FormatInt(modRev, 10))
	return u
}

// getStored is readStored for Get: an unreadable value is an
// *UnreadableError.
func getStored(k Key, value []byte, modRev int64) (api.Object, error) {
	o, err := decodeStored(k.Kind, value, modRev)
	if err != nil {
		return nil, &UnreadableError{Key: k, Err: err}
	}
	return o, nil
}

// stampStored keeps uid and creationTimestamp from the stored value, or
// stamps afresh when that value cannot be read (an update repairs it).
func stampStored(k Key, value []byte, modRev int64) func(api.Object) {
	if stored, err := decodeStored(k.Kind, value, modRev); err == nil {
		return stampFrom(stored)
	}
	return stampNew
}

// stampNew sets what Create fills in: a fresh uid and the creation time.
func stampNew(o api.Object) {
	o.SetUID(uuid.NewUUID())
	o.SetCreationTimestamp(metav1.Now())
}

// stampFrom keeps uid and creationTimestamp from the stored object.
func stampFrom(stored api.Object) func(api.Object) {
	return func(o api.Object) {
		o.SetUID(stored.GetUID())
		o.SetCreationTimestamp(stored.GetCreationTimestamp())
	}
}

// parseRevision parses a resourceVersion precondition; "" means none (0).
func parseRevision(k Key, rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n <= 0 {
		return 0, &ConflictError{Key: k, Detail: fmt.Sprintf("resourceVersion %q is not a datastore revision", rv)}
	}
	return n, nil
}

// checkObject validates an object handed to Create or Update and returns
// its key.
func checkObject(o api.Object) (Key, error) {
	if o == nil {
		return Key{}, fmt.Errorf("nil object")
	}
	k := KeyOf(o)
	return k, checkKey(k)
}

// readList decodes listed values (readStored), in order.
func readList(kvs []rawKV) []api.Object {
	out := make([]api.Object, 0, len(kvs))
	for _, kv := range kvs {
		k, ok := ParsePath(kv.Key)
		if !ok {
			continue
		}
		out = append(out, readStored(k, kv.Value, kv.ModRev))
	}
	return out
}
