package policy

// Lookups that make *Model a render.Source (render/source.go): the node
// and host endpoint queries render made of the Model's fields. An
// incremental engine (package calc) answers the same questions for one
// node without building a Model.

// Node returns the node named name, or nil if the model has none.
func (m *Model) Node(name string) *Node { return m.Nodes[name] }

// HostEndpointsOn returns the host endpoints on a node, sorted by name.
func (m *Model) HostEndpointsOn(node string) []*HostEndpoint {
	var out []*HostEndpoint
	for _, h := range m.HostEndpoints {
		if h.Node == node {
			out = append(out, h)
		}
	}
	return out
}
