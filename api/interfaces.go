package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// InterfacesAnnotation is the annotation on a Calico Node in which the
// node's agent reports how it bound local workload endpoints to host
// interfaces, where that departs from the naming convention
// (FelixConfiguration interfacePrefix and the hash of the pod's name). Its
// value is the JSON of an InterfaceReport. The agent owns it.
const InterfacesAnnotation = "palisade.io/interfaces"

// InterfaceReport is what an agent found when it bound its node's
// workload endpoints to interfaces. Only departures from the convention
// are listed, so a node where every pod's interface is where the
// convention says has an empty report (and no annotation).
type InterfaceReport struct {
	// Bound maps a workload endpoint ("<namespace>/<pod>") whose
	// conventional interface does not exist to the interface its address
	// routes to: a veth whose peer is in another network namespace. The
	// endpoint's policy is enforced on that interface.
	Bound map[string]string `json:"bound,omitempty"`
	// Unbound lists interfaces that are workload interfaces by their name
	// (they start with an interface prefix) but belong to no endpoint:
	// their traffic is dropped.
	Unbound []string `json:"unbound,omitempty"`
	// Missing lists local workload endpoints ("<namespace>/<pod>") with
	// neither their conventional interface nor a route to one of their
	// addresses through another namespace's veth.
	Missing []string `json:"missing,omitempty"`
}

// Empty reports whether the report lists nothing.
func (r InterfaceReport) Empty() bool {
	return len(r.Bound) == 0 && len(r.Unbound) == 0 && len(r.Missing) == 0
}

// Equal reports whether two reports list the same.
func (r InterfaceReport) Equal(o InterfaceReport) bool {
	return maps.Equal(r.Bound, o.Bound) && slices.Equal(r.Unbound, o.Unbound) && slices.Equal(r.Missing, o.Missing)
}

// NodeInterfaceReport reads a Node's InterfacesAnnotation: the zero report
// when there is none, an error naming the annotation when it is not an
// InterfaceReport.
func NodeInterfaceReport(n *Node) (InterfaceReport, error) {
	var r InterfaceReport
	v, ok := n.Annotations[InterfacesAnnotation]
	if !ok || v == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return InterfaceReport{}, FieldError{Field: "metadata.annotations[" + InterfacesAnnotation + "]", Value: v,
			Rule: fmt.Sprintf("not an interface report: %v", err)}
	}
	return r, nil
}

// SetNodeInterfaceReport writes r into n's annotations (removing the
// annotation when r is empty).
func SetNodeInterfaceReport(n *Node, r InterfaceReport) {
	if r.Empty() {
		delete(n.Annotations, InterfacesAnnotation)
		if len(n.Annotations) == 0 {
			n.Annotations = nil
		}
		return
	}
	data, err := json.Marshal(r)
	if err != nil {
		panic("api: encoding an interface report: " + err.Error()) // maps and slices of strings always encode
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[InterfacesAnnotation] = string(data)
}
