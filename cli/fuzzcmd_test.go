package cli

import (
	"testing"
)

// FuzzApplyInput feeds arbitrary input to apply, get -f and delete -f with
// -n (which also scans the input for namespaces): the commands may refuse
// it, but never panic, and exit 0 or 1.
func FuzzApplyInput(f *testing.F) {
	for _, seed := range []string{
		seed000DefaultNodePolicy,
		serverDefaults,
		"&x {kind: List, items: *x}",
		"a: &a [*a, *a]\n",
		"kind: NetworkSetList\napiVersion: projectcalico.org/v3\nitems: {a: b}\n",
		"[1, \"x\", null, {kind: NetworkSet}]",
		"---\n---\n--- x\n",
		"\x00\xff{[",
		`{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":{"name":"knp.default.x"},"spec":{}}`,
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		newMemory(t)
		for _, args := range [][]string{
			{"apply", "-f", "-", "-n", "ns1"},
			{"get", "-f", "-", "-n", "ns1", "-o", "yaml"},
			{"delete", "-f", "-", "-n", "ns1"},
			{"create", "-f", "-"},
		} {
			if code, _, _ := run(t, in, args...); code != 0 && code != 1 {
				t.Fatalf("%v: exit %d", args, code)
			}
		}
	})
}

func TestOddArgumentsDoNotPanic(t *testing.T) {
	st := newMemory(t)
	put(t, st, gnp("p", ""))
	for _, args := range [][]string{
		{"get", "gnp", "-o", `go-template={{range .}}{{joinAndTruncate .Items "," 2}}{{end}}`},
		{"get", "gnp", "-o", `go-template={{.Nope}}`},
		{"get", "gnp", "-o", `go-template={{config "other"}}`},
		{"get", "gnp", "p", "-o", "custom-columns=,"},
		{"get", "-f", "/nonexistent"},
		{"label", "gnp", "--all", "a=b", "--overwrite", "--remove"},
		{"label", "gnp"},
		{"patch", "gnp", "p", "-p", "null"},
		{"patch", "gnp", "p", "-p", `{"spec":null}`},
		{"patch", "gnp", "p", "-p", `{"kind":"HostEndpoint"}`},
		{"delete"},
		{"delete", "gnp", "p", "-f", "-"},
	} {
		if code, _, _ := run(t, "", args...); code != 0 && code != 1 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
