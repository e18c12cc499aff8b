package lab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
)

// convergeTimeout bounds waiting for the nodes to program a new state.
const convergeTimeout = 20 * time.Second

// Knowing when the agents have programmed a change: the lab renders each
// node's ruleset from the datastore as it is now (render.Node on the same
// model the agent builds), loads it into an unconnected scratch namespace
// and reads it back with `nft list`, which gives the text in the kernel's
// own words; the node has converged when its table reads the same. This
// needs nothing from the agent but the ruleset it is meant to apply.

// normalise makes two listings of the same ruleset comparable.
func normalise(listing string) string {
	return strings.TrimSpace(nft.Canonical(listing))
}

// listTable returns palisade's table in a namespace, or "" when absent.
func listTable(ctx context.Context, n *ns) string {
	out, err := n.Run(ctx, nil, "nft", "list", "table", render.TableFamily, render.TableName)
	if err != nil {
		return ""
	}
	return normalise(string(out))
}

// canonical loads a rendered ruleset into the scratch namespace and reads
// it back.
func (l *Lab) canonical(ctx context.Context, text string) (string, error) {
	sc := l.nss[ScratchNS]
	script, _ := nft.Script(text)
	if _, err := sc.Run(ctx, strings.NewReader(script), "nft", "-f", "-"); err != nil {
		return "", fmt.Errorf("lab: loading the rendered ruleset into %s: %w", ScratchNS, err)
	}
	return listTable(ctx, sc), nil
}

// wantRulesets renders every node's ruleset from the model in the form
// the agents program by default (compiled), in the kernel's words.
func (l *Lab) wantRulesets(ctx context.Context, m *policy.Model) (map[string]string, error) {
	want := map[string]string{}
	for _, n := range l.topo.Nodes {
		rs, err := render.Node(m, n.Name)
		if err != nil {
			return nil, fmt.Errorf("lab: render %s: %w", n.Name, err)
		}
		c, err := l.canonical(ctx, render.Compile(rs).Text())
		if err != nil {
			return nil, err
		}
		want[n.Name] = c
	}
	return want, nil
}

// converge waits until every node's table is the ruleset of the current
// datastore state. It returns the nodes that did not get there in time.
func (l *Lab) converge(ctx context.Context, m *policy.Model) ([]string, error) {
	want, err := l.wantRulesets(ctx, m)
	if err != nil {
		return nil, err
	}
	var late []string
	err = waitFor(ctx, convergeTimeout, func() error {
		late = late[:0]
		for _, n := range l.topo.Nodes {
			if listTable(ctx, l.nss[NodeNS(n.Name)]) != want[n.Name] {
				late = append(late, n.Name)
			}
		}
		if len(late) > 0 {
			return fmt.Errorf("not converged: %v", late)
		}
		return nil
	})
	if err != nil {
		return late, nil
	}
	return nil, nil
}
