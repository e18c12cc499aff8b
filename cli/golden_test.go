package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestExplainGolden keeps the text of `palisade explain` for seed flows in
// golden files; run `go test ./cli -run Golden -update` after an intended
// change and review the diff.
func TestExplainGolden(t *testing.T) {
	ex := "../examples/"
	cases := []struct {
		name string
		args []string
	}{
		{"seed000-ftp-denied", []string{"-f", ex + "topology", "-f", ex + "seed000/10-default-node-policy.yaml",
			"-f", ex + "seed000/20-kubecontrollersconfiguration.yaml", "--from", "198.19.15.254", "--to", "node:control", "--port", "21/TCP"}},
		{"seed000-nodeport-host1", []string{"-f", ex + "topology", "-f", ex + "seed000",
			"--from", "198.19.15.254", "--to", "198.19.0.1", "--port", "30180/TCP"}},
		{"seed003-pod-to-node", []string{"-f", ex + "topology", "--from", "yaobank/customer", "--to", "node:node1", "--port", "10250/TCP"}},
		{"seed004-staging-denied", []string{"-f", ex + "topology", "-f", ex + "seed004/90-staging",
			"--from", "staging/curl", "--to", "staging/backend", "--port", "80/TCP"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", append([]string{"explain"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("explain: code %d: %s", code, errOut)
			}
			path := filepath.Join("testdata", "explain", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(out, "\n")); diff != "" {
				t.Errorf("explain output differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}
