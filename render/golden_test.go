package render

import (
	"flag"
	"fmt"
	"github.com/palisade-net/palisade/internal/netlab"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenSteps are seed example steps (examples/), each rendered for every
// node of the lab into testdata/<step>-<node>.nft.
var goldenSteps = []struct {
	name  string
	files []string
}{
	{"seed000-full", []string{"topology", "seed000"}},
	{"seed002-corrected-hep", []string{"topology", "seed002/05-services.yaml", "seed002/10-networkpolicies.yaml",
		"seed002/22-hostendpoint.yaml", "seed002/30-bar-nodeport-service.yaml", "seed002/40-prednat-policies.yaml"}},
	{"seed003", []string{"topology", "seed003"}},
	{"seed004-vpn", []string{"topology", "seed004/60-vpn"}},
	{"seed004-icmp", []string{"topology", "seed004/50-icmp/10-block-icmp.yaml", "seed004/50-icmp/20-icmp-exception-kube-02.yaml"}},
	{"seed004-staging", []string{"topology", "seed004/90-staging"}},
}

func goldenPath(step, node string) string {
	return filepath.Join("testdata", step+"-"+node+".nft")
}

func TestGolden(t *testing.T) {
	for _, st := range goldenSteps {
		m := loadExample(t, st.files...)
		for _, node := range m.NodeNames() {
			t.Run(st.name+"/"+node, func(t *testing.T) {
				r, err := Node(m, node)
				if err != nil {
					t.Fatal(err)
				}
				got := r.Text()
				again, _ := Node(m, node)
				if again.Text() != got {
					t.Fatal("rendering twice gave different text")
				}
				path := goldenPath(st.name, node)
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./render -run TestGolden -update)", err)
				}
				if string(want) != got {
					t.Errorf("%s differs from the rendered ruleset (run with -update to accept):\n%s", path, firstDiff(string(want), got))
				}
			})
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  golden:   %s\n  rendered: %s", i+1, x, y)
		}
	}
	return ""
}

// TestGoldenNftCheck runs `nft -c -f` on every golden file inside a scratch
// network namespace (never the host's ruleset). It needs root and nft;
// without them it skips, except in CI (CI=true), where it fails.
func TestGoldenNftCheck(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot check the golden files with nft in CI: %v", err)
		}
		t.Skipf("no nft: %v", err)
	}
	// netlab, not `ip netns add`: iproute2 bind-mounts /run/netns over
	// itself the first time, which hides namespaces other tests hold.
	ns, err := netlab.ForTest(t, "pal-render").NewNS("check")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.nft"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in testdata (%v)", err)
	}
	for _, f := range files {
		out, err := exec.Command("ip", "netns", "exec", ns.Name, "nft", "-c", "-f", f).CombinedOutput()
		if err != nil {
			t.Errorf("nft -c -f %s: %v\n%s", f, err, out)
		}
	}
}
