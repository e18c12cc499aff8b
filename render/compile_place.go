package render

import (
	"maps"
	"slices"
)

// Where the identity lookup goes. A compiled chain needs the remote
// address's identity in the mark before its verdict maps. Looked up in
// the chain itself, every endpoint chain would name the address maps, and
// the kernel, which checks the whole table for loops whenever a verdict
// element that jumps is added, would walk every address map element once
// per endpoint chain (at 1,000 pods and 2,000 identities, 150 ms per
// change). So the lookup goes to the rules that lead to compiled chains
// (the dispatch chains' interface maps, the wildcard host endpoint's
// goto), before each: one lookup per dispatch, which the kernel walks a
// few times. A chain is looked up in itself when a rule that leads to it
// also leads to a chain of the other direction, or when it is reached
// from another endpoint chain.

// A lookup in a dispatch chain runs for every packet that passes it,
// where in the endpoint chain it ran after "ct state established,related
// accept": so it is guarded by "ct state new,untracked" (what gets past
// that rule and "ct state invalid drop"), and only chains that begin so
// have their lookup hoisted.

// placeIDs puts the identity lookups: in the callers' chains where it can
// (copies in replaced), else in the compiled chains at idAt.
func (c *compiler) placeIDs(replaced map[string]*Chain) {
	current := func(name string) *Chain {
		if ch, ok := replaced[name]; ok {
			return ch
		}
		return c.chains[name]
	}
	type site struct {
		chain string
		rule  int
		field Field
	}
	var sites []site
	callers := map[string][]int{} // compiled chain -> indices into sites
	inChain := map[string]bool{}
	for _, ch := range c.r.Chains {
		cur := current(ch.Name)
		for i, r := range cur.Rules {
			targets := c.ruleTargets(r)
			fields := map[Field]bool{}
			var need []string
			for _, t := range targets {
				if _, ok := c.idAt[t]; ok {
					need = append(need, t)
					fields[c.chains[t].Remote] = true
				}
			}
			if len(need) == 0 {
				continue
			}
			if len(fields) > 1 || cur.Remote != 0 || !c.allTracked(need) {
				for _, t := range need {
					inChain[t] = true
				}
				continue
			}
			sites = append(sites, site{chain: ch.Name, rule: i, field: c.chains[need[0]].Remote})
			for _, t := range need {
				callers[t] = append(callers[t], len(sites)-1)
			}
		}
	}
	use := map[int]bool{}
	for name := range c.idAt {
		if inChain[name] || len(callers[name]) == 0 {
			inChain[name] = true
			continue
		}
		for _, i := range callers[name] {
			use[i] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inChain)) {
		if at, ok := c.idAt[name]; ok {
			nc := *replaced[name]
			nc.Rules = slices.Insert(slices.Clone(nc.Rules), at, idLookups(nc.Remote, "the remote address's identity")...)
			replaced[name] = &nc
		}
	}
	byChain := map[string][]site{}
	for i, s := range sites {
		if use[i] {
			byChain[s.chain] = append(byChain[s.chain], s)
		}
	}
	for name, ss := range byChain {
		nc := *current(name)
		nc.Rules = slices.Clone(nc.Rules)
		for k := len(ss) - 1; k >= 0; k-- { // from the last, so indices hold
			lookups := idLookups(ss[k].field, "the remote address's identity, for the endpoint chains below")
			for i := range lookups {
				lookups[i].Matches = []Match{MatchCtState{States: []string{CtNew, CtUntracked}}}
			}
			nc.Rules = slices.Insert(nc.Rules, ss[k].rule, lookups...)
		}
		replaced[name] = &nc
	}
}

// allTracked reports whether every chain named accepts established and
// related packets and drops invalid ones before its section, so that
// only new or untracked packets reach the section.
func (c *compiler) allTracked(names []string) bool {
	for _, n := range names {
		ch := c.chains[n]
		est, inv := false, false
		for _, r := range ch.Rules[:ch.Section] {
			if len(r.Matches) != 1 || len(r.Statements) != 0 {
				continue
			}
			m, ok := r.Matches[0].(MatchCtState)
			if !ok || m.Negate {
				continue
			}
			switch {
			case r.Verdict.Kind == VerdictAccept && slices.Equal(m.States, []string{CtEstablished, CtRelated}):
				est = true
			case r.Verdict.Kind == VerdictDrop && slices.Equal(m.States, []string{CtInvalid}):
				inv = true
			}
		}
		if !est || !inv {
			return false
		}
	}
	return true
}

// ruleTargets are the chains a rule may go to: its jump or goto, or its
// verdict map's elements'.
func (c *compiler) ruleTargets(r Rule) []string {
	switch r.Verdict.Kind {
	case VerdictJump, VerdictGoto:
		return []string{r.Verdict.Chain}
	case VerdictVmap:
		var out []string
		for _, m := range c.r.Maps {
			if m.Name == r.Verdict.Map {
				for _, e := range m.Elements {
					if e.Verdict.Chain != "" {
						out = append(out, e.Verdict.Chain)
					}
				}
			}
		}
		return out
	}
	return nil
}

// idLookups are the rules that put the address in field's identity in
// the mark (one per family).
func idLookups(field Field, comment string) []Rule {
	return []Rule{
		{Verdict: Verdict{Kind: VerdictVmap, Map: mapIDsV4, Key: field, Family: FamilyIPv4}, Comment: comment},
		{Verdict: Verdict{Kind: VerdictVmap, Map: mapIDsHostV4, Key: field, Family: FamilyIPv4}, Comment: comment},
		{Verdict: Verdict{Kind: VerdictVmap, Map: mapIDsV6, Key: field, Family: FamilyIPv6}, Comment: comment},
		{Verdict: Verdict{Kind: VerdictVmap, Map: mapIDsHostV6, Key: field, Family: FamilyIPv6}, Comment: comment},
	}
}
