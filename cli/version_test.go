package cli

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/version"
)

func TestPrintVersions(t *testing.T) {
	me := version.Info{Version: "v1.2.0", Commit: "abc", Date: "d"}
	var b bytes.Buffer
	printVersions(&b, me,
		map[string]version.Info{"m1": {Version: "v1.2.0", Commit: "abc"}, "m2": {Version: "v1.1.0", Commit: "old"}},
		map[string]string{"n1": "v1.2.0 (abc)", "n2": "v1.2.0 (abc)", "n3": "v1.1.0 (old)"})
	want := `Server m1:         v1.2.0 (abc)
Server m2:         v1.1.0 (old)
Agents:            v1.1.0 (old) on 1 node(s): n3
Agents:            v1.2.0 (abc) on 2 node(s): n1, n2
warning: server m2 runs v1.1.0, this client is v1.2.0
warning: 1 agent(s) run v1.1.0, this client is v1.2.0: n3
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
