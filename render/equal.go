package render

import (
	"reflect"
	"slices"
)

// RulesEqual reports whether two rule lists are the same rules, without
// printing them (the incremental applier compares every chain of every
// new ruleset with the last one).
func RulesEqual(a, b []Rule) bool {
	return slices.EqualFunc(a, b, ruleEqual)
}

func ruleEqual(a, b Rule) bool {
	return a.Verdict == b.Verdict && a.Comment == b.Comment &&
		slices.EqualFunc(a.Matches, b.Matches, matchEqual) &&
		slices.EqualFunc(a.Statements, b.Statements, func(x, y Statement) bool { return x == y })
}

// matchEqual compares two matches; the types with slices or pointers
// field by field, the others (comparable structs) with ==.
func matchEqual(a, b Match) bool {
	switch x := a.(type) {
	case MatchL4Proto:
		y, ok := b.(MatchL4Proto)
		return ok && x.Negate == y.Negate && x.Set == y.Set && slices.Equal(x.Protos, y.Protos)
	case MatchAddr:
		y, ok := b.(MatchAddr)
		return ok && x.Field == y.Field && x.Family == y.Family && x.Set == y.Set && x.Negate == y.Negate &&
			slices.Equal(x.Prefixes, y.Prefixes)
	case MatchPort:
		y, ok := b.(MatchPort)
		return ok && x.Field == y.Field && x.Set == y.Set && x.Negate == y.Negate && slices.Equal(x.Ranges, y.Ranges)
	case MatchICMP:
		y, ok := b.(MatchICMP)
		return ok && x.Family == y.Family && x.Negate == y.Negate && slices.Equal(x.Types, y.Types) &&
			(x.Code == nil) == (y.Code == nil) && (x.Code == nil || *x.Code == *y.Code)
	case MatchCtState:
		y, ok := b.(MatchCtState)
		return ok && x.Negate == y.Negate && slices.Equal(x.States, y.States)
	case MatchIfname, MatchNfproto, MatchAddrProtoPort, MatchProtoPort, MatchCtDNAT, MatchMark:
		return a == b
	}
	return reflect.DeepEqual(a, b) // a type added later: slower, still right
}
