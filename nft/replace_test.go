package nft

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseObjects(t *testing.T) {
	listing := "table inet palisade {\n" +
		"\tlimit flowlogs {\n\t\trate 100/second burst 200 packets\n\t}\n\n" +
		"\tcounter cnt-1 {\n\t\tcomment \"kind=rule\"\n\t\tpackets 0 bytes 0\n\t}\n\n" +
		"\tset s {\n\t\ttype ipv4_addr\n\t\tcomment \"a\"\n\t}\n\n" +
		"\tmap m {\n\t\ttype ifname : verdict\n\t}\n\n" +
		"\tchain c {\n\t\tcomment \"a\"\n\t\tip saddr @s accept\n\t}\n\n" +
		"\tchain b {\n\t\tcomment \"stage F-IN\"\n\t\ttype filter hook input priority filter; policy accept;\n\t\tjump c\n\t}\n\n" +
		"\tchain nocomment {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n" +
		"}\n"
	got := parseObjects(listing)
	want := tableObjects{base: map[string]string{"b": "stage F-IN", "nocomment": ""}, chains: []string{"c"},
		sets: []string{"s"}, maps: []string{"m"}, counters: []string{"cnt-1"}, limits: []string{"flowlogs"}}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(tableObjects{})); d != "" {
		t.Errorf("parseObjects (-want +got):\n%s", d)
	}
}

func TestInPlaceScript(t *testing.T) {
	have := tableObjects{base: map[string]string{"in": "stage F-IN", "gone": "x"}, chains: []string{"c"},
		sets: []string{"s"}, maps: []string{"m"}, counters: []string{"k"}, limits: []string{"flowlogs"}}
	for _, tc := range []struct {
		name string
		want tableObjects
		out  string // "" for no in-place replace
	}{
		{"objects deleted, base chain kept", tableObjects{base: map[string]string{"in": "stage F-IN"}},
			"flush table inet palisade\ndelete map inet palisade m\ndelete set inet palisade s\n" +
				"delete counter inet palisade k\ndelete limit inet palisade flowlogs\ndelete chain inet palisade c\n" +
				"delete chain inet palisade gone\ntable inet palisade {\nBODY\n}\n"},
		{"a kept base chain's comment changes", tableObjects{base: map[string]string{"in": "stage F-IN, new"}}, ""},
	} {
		got := inPlaceScript(have, tc.want, "BODY")
		if d := cmp.Diff(tc.out, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	if got := inPlaceScript(tableObjects{}, tableObjects{}, "table inet palisade {\n}\n"); strings.Count(got, "table inet palisade {") != 1 {
		t.Errorf("a wrapped text was wrapped again:\n%s", got)
	}
}
