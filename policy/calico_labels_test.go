package policy_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/selector"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A random differential of how labels, service accounts and profiles meet
// selectors, judged against a reference written from Calico's documented
// behaviour (its conversion, syncer update processors and rule building),
// independently of the model's code: selectors are combined as strings and
// all() is rewritten by string replacement, as Calico does.

const (
	lNS   = "projectcalico.org/namespace"
	lOrch = "projectcalico.org/orchestrator"
	lSA   = "projectcalico.org/serviceaccount"
)

// refOwner is an address owner as the reference sees it.
type refOwner struct {
	key    string // namespace/name of a workload, "hep:"+name, "set:"+name
	kind   string // wl, hep, set
	ns     string
	labels map[string]string
	prefix netip.Prefix
}

func refWithPrefix(text, prefix string) string {
	s := selector.MustParse(text)
	return selector.Rewrite(s, func(k string) string { return prefix + k }).String()
}

func refAppend(s, text, prefix string) string {
	p := refWithPrefix(text, prefix)
	if s == "" {
		return p
	}
	return "(" + s + ") && " + p
}

// refGNPSelector is the global policy processor's selector.
func refGNPSelector(sel, nsSel, saSel string) string {
	s := sel
	if nsSel != "" {
		s = strings.ReplaceAll(refAppend(s, nsSel, "pcns."), "all()", "has("+lNS+")")
	}
	if saSel != "" {
		s = strings.ReplaceAll(refAppend(s, saSel, "pcsa."), "all()", "has("+lSA+")")
	}
	return s
}

// refNPSelector is the namespaced policy processor's selector.
func refNPSelector(ns, sel, saSel string) string {
	clause := fmt.Sprintf("%s == '%s'", lNS, ns)
	s := clause
	if sel != "" {
		s = "(" + sel + ") && " + clause
	}
	if saSel != "" {
		s = refAppend(s, saSel, "pcsa.")
	}
	return s
}

// refRuleSelector is a rule side's selector (namespace scope, service
// accounts, selector).
func refRuleSelector(policyNS string, er api.EntityRule) string {
	var parts []string
	any := er.Selector != "" || er.NamespaceSelector != "" || er.ServiceAccounts != nil
	switch {
	case er.NamespaceSelector != "":
		parts = append(parts, strings.ReplaceAll(refWithPrefix(er.NamespaceSelector, "pcns."), "all()", "has("+lNS+")"))
	case policyNS != "" && any:
		parts = append(parts, fmt.Sprintf("%s == '%s'", lNS, policyNS))
	}
	if sa := er.ServiceAccounts; sa != nil {
		if len(sa.Names) > 0 {
			q := make([]string, len(sa.Names))
			for i, n := range sa.Names {
				q[i] = "'" + n + "'"
			}
			parts = append(parts, lSA+" in {"+strings.Join(q, ", ")+"}")
		}
		if sa.Selector != "" {
			parts = append(parts, refWithPrefix(sa.Selector, "pcsa.")) // not rewritten
		}
	}
	if er.Selector != "" {
		parts = append(parts, er.Selector)
	}
	for i := range parts {
		parts[i] = "(" + parts[i] + ")"
	}
	return strings.Join(parts, " && ")
}

func refMatch(sel string, labels map[string]string) bool {
	if sel == "" {
		sel = "all()"
	}
	return selector.MustParse(sel).Matches(selector.Map(labels))
}

// refNamespaceLabels and refSALabels are the kns and ksa profiles' labels.
func refNamespaceLabels(ns string, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out["pcns."+k] = v
	}
	out["pcns.projectcalico.org/name"] = ns
	return out
}

func refSALabels(sa string, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out["pcsa."+k] = v
	}
	out["pcsa.projectcalico.org/name"] = sa
	return out
}

// refOwnLabels drops the reserved prefixes from a workload's own labels.
func refOwnLabels(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if !strings.HasPrefix(k, "pcns.") && !strings.HasPrefix(k, "pcsa.") {
			out[k] = v
		}
	}
	return out
}

func merged(parts ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, p := range parts {
		maps.Copy(out, p)
	}
	return out
}

// calicoCase is one generated cluster.
type calicoCase struct {
	objs     []api.Object
	owners   []refOwner
	policies []refPolicy
}

type refPolicy struct {
	kind, ns, name string
	sel            string // the reference's effective selector
	rule           string // the reference's source selector of ingress rule 0
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func randLabels(r *rand.Rand, keys map[string][]string) map[string]string {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if r.IntN(2) == 0 {
			out[k] = pick(r, keys[k]...)
		}
	}
	return out
}

var longSA = strings.Repeat("s", 70)

func genCalicoCase(r *rand.Rand) calicoCase {
	var c calicoCase
	nsLabels := map[string]map[string]string{}
	for _, ns := range []string{"ns0", "ns1", "ns2"} {
		l := randLabels(r, map[string][]string{"team": {"red", "blue"}, "projectcalico.org/name": {"ns0", "evil"}, "env": {"prod"}})
		l["kubernetes.io/metadata.name"] = ns // as the API server sets it
		nsLabels[ns] = l
		c.objs = append(c.objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: l}})
	}
	saLabels := map[string]map[string]string{}
	sas := []string{"default", "builder", longSA}
	for _, ns := range []string{"ns0", "ns1", "ns2"} {
		for _, sa := range sas {
			if r.IntN(3) == 0 {
				continue // no ServiceAccount object: the profile has no labels but its name
			}
			l := randLabels(r, map[string][]string{"role": {"a", "b"}, "projectcalico.org/name": {"evil"}})
			saLabels[ns+"/"+sa] = l
			c.objs = append(c.objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa, Labels: l}})
		}
	}
	wlKeys := map[string][]string{"app": {"web", "db"}, "pcns.team": {"red"}, "pcsa.role": {"a"},
		lNS: {"evil"}, lOrch: {"evil"}, lSA: {"evil"}, "team": {"red"}}
	for i := range 6 {
		ns, sa := pick(r, "ns0", "ns1", "ns2"), pick(r, sas...)
		name := fmt.Sprintf("pod%d", i)
		ip := netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)})
		l := randLabels(r, wlKeys)
		c.objs = append(c.objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
			Spec:   corev1.PodSpec{NodeName: "n1", ServiceAccountName: sa},
			Status: corev1.PodStatus{PodIP: ip.String()}})
		own := refOwnLabels(l)
		own[lNS], own[lOrch], own[lSA] = ns, "k8s", sa
		c.owners = append(c.owners, refOwner{key: ns + "/" + name, kind: "wl", ns: ns, prefix: netip.PrefixFrom(ip, 32),
			labels: merged(refNamespaceLabels(ns, nsLabels[ns]), refSALabels(sa, saLabels[ns+"/"+sa]), own)})
	}
	for i := range 2 {
		ns := pick(r, "ns0", "ns1", "ns2")
		sa := pick(r, "", "builder", longSA)
		orch := pick(r, "", "k8s", "cni")
		name := fmt.Sprintf("wep%d", i)
		ip := netip.AddrFrom4([4]byte{198, 18, 1, byte(10 + i)})
		l := randLabels(r, wlKeys)
		w := &api.WorkloadEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "n1-k8s-" + name + "-eth0", Labels: l},
			Spec: api.WorkloadEndpointSpec{Node: "n1", Pod: name, Orchestrator: orch, ServiceAccountName: sa,
				InterfaceName: "cali" + name, IPNetworks: []string{netip.PrefixFrom(ip, 32).String()},
				Profiles: []string{"kns." + ns}}}
		c.objs = append(c.objs, w)
		own := refOwnLabels(l)
		own[lNS], own[lOrch] = ns, orch
		if sa != "" {
			own[lSA] = sa
		}
		c.owners = append(c.owners, refOwner{key: ns + "/" + name, kind: "wl", ns: ns, prefix: netip.PrefixFrom(ip, 32),
			labels: merged(refNamespaceLabels(ns, nsLabels[ns]), own)})
	}
	{
		l := randLabels(r, map[string][]string{"role": {"a"}, "pcns.team": {"red"}, "pcsa.role": {"a"}, lSA: {"x"}})
		ip := netip.MustParseAddr("198.19.0.2")
		c.objs = append(c.objs, &api.HostEndpoint{ObjectMeta: metav1.ObjectMeta{Name: "h1", Labels: l},
			Spec: api.HostEndpointSpec{Node: "n1", InterfaceName: "eth0", ExpectedIPs: []string{ip.String()},
				Profiles: []string{api.DefaultAllowProfile}}})
		c.owners = append(c.owners, refOwner{key: "hep:h1", kind: "hep", labels: maps.Clone(l), prefix: netip.PrefixFrom(ip, 32)})
	}
	{
		l := randLabels(r, map[string][]string{"role": {"a"}, "team": {"red"}, "pcsa.role": {"a"}})
		c.objs = append(c.objs, &api.GlobalNetworkSet{ObjectMeta: metav1.ObjectMeta{Name: "gns", Labels: l},
			Spec: api.NetworkSetSpec{Nets: []string{"198.51.100.0/24"}}})
		c.owners = append(c.owners, refOwner{key: "set:gns", kind: "set", labels: maps.Clone(l), prefix: netip.MustParsePrefix("198.51.100.0/24")})
	}
	sels := []string{"", "all()", "app == 'web'", "!has(app)", "has(team)"}
	nsSels := []string{"", "", "all()", "team == 'red'", "!has(team)", "projectcalico.org/name == 'ns0'"}
	saSels := []string{"", "", "all()", "role == 'a'", "!has(role)", "projectcalico.org/name == 'builder'"}
	rule := func() api.EntityRule {
		er := api.EntityRule{Selector: pick(r, "", "", "app == 'db'", "role == 'a'", "all()"),
			NamespaceSelector: pick(r, "", "", "all()", "team == 'red'")}
		switch r.IntN(4) {
		case 1:
			er.ServiceAccounts = &api.ServiceAccountMatch{Names: []string{pick(r, "builder", longSA, "default")}}
		case 2:
			er.ServiceAccounts = &api.ServiceAccountMatch{Selector: pick(r, "all()", "role == 'a'", "!has(role)")}
		case 3:
			er.ServiceAccounts = &api.ServiceAccountMatch{Names: []string{"builder"}, Selector: "all()"}
		}
		return er
	}
	for i := range 4 {
		sel, nsSel, saSel, er := pick(r, sels...), pick(r, nsSels...), pick(r, saSels...), rule()
		name := fmt.Sprintf("g%d", i)
		c.objs = append(c.objs, &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: api.GlobalNetworkPolicySpec{Selector: sel, NamespaceSelector: nsSel, ServiceAccountSelector: saSel,
				Ingress: []api.Rule{{Action: api.Allow, Source: er}}}})
		c.policies = append(c.policies, refPolicy{kind: api.KindGlobalNetworkPolicy, name: name,
			sel: refGNPSelector(sel, nsSel, saSel), rule: refRuleSelector("", er)})
	}
	for i := range 3 {
		ns, sel, saSel, er := pick(r, "ns0", "ns1", "ns2"), pick(r, sels...), pick(r, saSels...), rule()
		name := fmt.Sprintf("n%d", i)
		c.objs = append(c.objs, &api.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: api.NetworkPolicySpec{Selector: sel, ServiceAccountSelector: saSel,
				Ingress: []api.Rule{{Action: api.Allow, Source: er}}}})
		c.policies = append(c.policies, refPolicy{kind: api.KindNetworkPolicy, ns: ns, name: name,
			sel: refNPSelector(ns, sel, saSel), rule: refRuleSelector(ns, er)})
	}
	return c
}

func TestCalicoLabelsDifferential(t *testing.T) {
	const cases = 400
	for seed := range uint64(cases) {
		c := genCalicoCase(rand.New(rand.NewPCG(seed, 14)))
		m, err := policy.NewModel(c.objs)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if msg := compareCalicoCase(m, c); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
	}
}

// compareCalicoCase compares which endpoints each policy selects and which
// addresses each policy's rule selector resolves to.
func compareCalicoCase(m *policy.Model, c calicoCase) string {
	selected := map[string][]string{} // policy -> endpoint keys (the model's)
	note := func(tps []policy.TierPolicies, key string) {
		for _, tp := range tps {
			for _, p := range tp.Policies {
				selected[p.Key()] = append(selected[p.Key()], key)
			}
		}
	}
	for _, w := range m.Workloads {
		note(m.WorkloadPolicies(w, policy.Ingress), w.Key())
	}
	for _, h := range m.HostEndpoints {
		note(m.HostEndpointPolicies(h, policy.StageNormal, policy.Ingress), "hep:"+h.Name)
	}
	rules := map[string]*policy.Rule{}
	for _, t := range m.Tiers {
		for _, p := range t.Policies {
			if len(p.Ingress) > 0 {
				rules[p.Key()] = &p.Ingress[0]
			}
		}
	}
	for _, rp := range c.policies {
		key := rp.name
		if rp.ns != "" {
			key = rp.ns + "/" + rp.name
		}
		var want []string
		var members []string
		for _, o := range c.owners {
			if o.kind != "set" && (o.kind == "wl" || rp.kind == api.KindGlobalNetworkPolicy) && refMatch(rp.sel, o.labels) {
				want = append(want, o.key)
			}
			if refMatch(rp.rule, o.labels) {
				members = append(members, o.prefix.String())
			}
		}
		got := selected[key]
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return fmt.Sprintf("%s %s (reference selector %q) selects %v, reference %v\nowners: %+v", rp.kind, key, rp.sel, got, want, c.owners)
		}
		r := rules[key]
		if r == nil {
			return fmt.Sprintf("%s %s has no compiled ingress rule", rp.kind, key)
		}
		var gotM []string
		if r.Src.Selector != nil || r.Src.NotSelector != nil {
			for p := range m.SelectorMembers(r.Src.Selector, r.Src.NotSelector).All() {
				gotM = append(gotM, p.String())
			}
		} else if rp.rule != "" {
			return fmt.Sprintf("%s %s: the model's rule has no selector, the reference's is %q", rp.kind, key, rp.rule)
		} else {
			continue // no selector on either side: the rule matches any source
		}
		sort.Strings(gotM)
		sort.Strings(members)
		if !slices.Equal(slices.Compact(gotM), slices.Compact(members)) {
			return fmt.Sprintf("%s %s rule 0 source (reference %q): model %v, reference %v\nowners: %+v", rp.kind, key, rp.rule, gotM, members, c.owners)
		}
	}
	return ""
}
