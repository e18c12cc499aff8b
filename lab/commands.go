package lab

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/store"
)

// cmd is one command of a step, as the seed runs it: palisade in place of
// calicoctl (and of kubectl without --kube), or with --kube the seed's
// kubectl command itself (tool "kubectl"), or a shell pipeline of kubectl
// commands (tool "sh", args[0] the line). Paths starting with "examples/"
// name the examples embedded in the binary (the lab writes them to its
// directory).
type cmd struct {
	tool     string // "" (palisade), "kubectl" or "sh"
	args     []string
	stdin    func(prev string) (string, error) // standard input, from the previous command's output
	wantExit int
	// check judges the output (stdout and stderr together); with retry the
	// command is repeated until check passes or 20 s pass (for what a
	// controller does asynchronously).
	check func(out string) error
	retry bool
	// shown replaces args in the printed command line.
	shown string
}

func pal(args ...string) cmd { return cmd{args: args} }

func kubectl(args ...string) cmd { return cmd{tool: "kubectl", args: args} }

// fileCmd is `palisade VERB -f examples/F`, or with kube for a file of
// Kubernetes objects, `kubectl VERB -f examples/F`.
func fileCmd(verb, f string, kube bool) cmd {
	if kube && kubeFile(f) {
		return kubectl(verb, "-f", "examples/"+f)
	}
	return pal(verb, "-f", "examples/"+f)
}

func applyFile(f string) cmd { return pal("apply", "-f", "examples/"+f) }

func (c cmd) String() string {
	switch c.tool {
	case "sh":
		return c.args[0]
	case "kubectl":
		return "kubectl " + strings.Join(quoteArgs(c.args), " ")
	}
	if c.shown != "" {
		return "palisade " + c.shown
	}
	return "palisade " + strings.Join(quoteArgs(c.args), " ")
}

// quoteArgs quotes arguments for a shell: --flag='value' or 'value'.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " {}\"'") {
			if name, val, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "--") {
				a = name + "='" + val + "'"
			} else {
				a = "'" + a + "'"
			}
		}
		out[i] = a
	}
	return out
}

const autoHEPPatch = `{"spec": {"controllers": {"node": {"hostEndpoint": {"autoCreate": "Enabled"}}}}}`

// countAtLeast checks that s occurs at least n times in the output.
func countAtLeast(s string, n int) func(string) error {
	return func(out string) error {
		if c := strings.Count(out, s); c < n {
			return fmt.Errorf("%q appears %d time(s), want %d", s, c, n)
		}
		return nil
	}
}

func contains(s string) func(string) error {
	return func(out string) error {
		if !strings.Contains(out, s) {
			return fmt.Errorf("the output does not mention %q", s)
		}
		return nil
	}
}

// seedCommands are the seeds' own commands for the files that stand for a
// command rather than a manifest to apply (examples/README.md: "Commands of
// the seeds become files"), and for the seeds' broken documents, which the
// lab shows failing before it applies the corrected file.
var seedCommands = map[string][]cmd{
	"seed000/20-kubecontrollersconfiguration.yaml": {
		pal("patch", "kubecontrollersconfiguration", "default", "--patch="+autoHEPPatch),
		{args: []string{"get", "heps"}, check: countAtLeast("-auto-hep", 3), retry: true},
	},
	"seed001/10-kubecontrollersconfiguration.yaml": {
		pal("patch", "kubecontrollersconfiguration", "default", "--patch="+autoHEPPatch),
		{args: []string{"get", "heps", "-o", "wide"}, check: countAtLeast("-auto-hep", 3), retry: true},
	},
	"seed001/20-node-labels.yaml": {
		pal("label", "nodes", "--all", "kubernetes-host="),
		pal("label", "nodes", "node1", "environment=dev"),
		pal("label", "nodes", "node2", "environment=dev"),
		{args: []string{"get", "heps", "-o", "yaml"}, retry: true, shown: "get heps -o yaml  # the automatic host endpoints carry the labels",
			check: all(countAtLeast("kubernetes-host: \"\"", 3), countAtLeast("environment: dev", 2))},
	},
	"seed001/40-worker-labels.yaml": {
		pal("label", "nodes", "node1", "kubernetes-worker="),
		pal("label", "nodes", "node2", "kubernetes-worker="),
		{args: []string{"get", "heps", "-o", "yaml"}, retry: true, shown: "get heps -o yaml",
			check: countAtLeast("kubernetes-worker: \"\"", 2)},
	},
	"seed002/21-hostendpoint-verbatim-labels.yaml": {
		{args: []string{"apply", "-f", "examples/seed002/20-hostendpoint-broken.yaml"}, wantExit: 1, check: contains("metadata.spec")},
		applyFile("seed002/21-hostendpoint-verbatim-labels.yaml"),
	},
	"seed003/30-felixconfiguration.yaml": {
		pal("get", "felixconfiguration", "default", "--export", "-o", "yaml"),
		{args: []string{"apply", "-f", "-"}, stdin: acceptEndpointToHost,
			shown: "apply -f -  # the export above with spec.defaultEndpointToHostAction: Accept"},
	},
	"seed004/70-basics/21-allow-all.yaml": {
		{args: []string{"apply", "-f", "examples/seed004/70-basics/20-allow-all-verbatim.yaml"}, wantExit: 1, check: contains("ingress")},
		applyFile("seed004/70-basics/21-allow-all.yaml"),
	},
	"seed004/80-busybox/20-pod-labels.yaml": {
		pal("label", "pods", "busybox1", "test=in"),
		pal("label", "pods", "busybox2", "test=out"),
	},
}

// kubeSeedCommands replace seedCommands with --kube: the seeds' kubectl
// commands verbatim, against the lab's apiserver.
var kubeSeedCommands = map[string][]cmd{
	"seed001/20-node-labels.yaml": {
		kubectl("label", "nodes", "--all", "kubernetes-host="),
		kubectl("label", "node", "node1", "environment=dev"),
		kubectl("label", "node", "node2", "environment=dev"),
		seedCommands["seed001/20-node-labels.yaml"][3],
	},
	"seed001/40-worker-labels.yaml": {
		{tool: "sh", args: []string{"kubectl get node -l '!node-role.kubernetes.io/master' -o custom-columns=NAME:.metadata.name" +
			" | tail -n +2 | xargs -I{} kubectl label node {} kubernetes-worker="}},
		seedCommands["seed001/40-worker-labels.yaml"][2],
	},
	"seed004/70-basics/21-allow-all.yaml": {
		{tool: "kubectl", args: []string{"apply", "-f", "examples/seed004/70-basics/20-allow-all-verbatim.yaml"}, wantExit: 1,
			check: contains("spec.egress")},
		kubectl("apply", "-f", "examples/seed004/70-basics/21-allow-all.yaml"),
	},
	"seed004/80-busybox/10-deny-all.yaml": {
		{tool: "kubectl", args: []string{"get", "po", "-o", "wide"},
			check: all(contains("busybox1"), contains("Running"), contains("198.18."))},
		kubectl("create", "-f", "examples/seed004/80-busybox/10-deny-all.yaml"),
	},
	"seed004/80-busybox/20-pod-labels.yaml": {
		kubectl("label", "pod", "busybox1", "test=in"),
		kubectl("label", "pod", "busybox2", "test=out"),
	},
}

func all(checks ...func(string) error) func(string) error {
	return func(out string) error {
		for _, c := range checks {
			if err := c(out); err != nil {
				return err
			}
		}
		return nil
	}
}

// acceptEndpointToHost is the seed's edit of the exported FelixConfiguration.
func acceptEndpointToHost(export string) (string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(export), &doc); err != nil {
		return "", fmt.Errorf("the exported FelixConfiguration: %w", err)
	}
	spec, _ := doc["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	spec["defaultEndpointToHostAction"] = "Accept"
	doc["spec"] = spec
	out, err := yaml.Marshal(doc)
	return string(out), err
}

// plan is what the lab does to go from one step's files to the next.
type plan struct {
	reset bool // back to the unprotected lab first
	cmds  []cmd
}

// planStep derives a step's commands from the examples' file lists: the
// files added since the previous step are applied (or replaced by the
// seed's own commands); files dropped are deleted (unless the added files
// replace their objects) when that is safe: when none of their objects is
// one of the unprotected lab's (base: the topology and the defaults, which
// a delete would remove rather than restore). Otherwise the lab resets to
// the unprotected state and applies the step's files afresh.
func planStep(prev, cur []string, keys func(string) []store.Key, base map[store.Key]bool, kube bool) plan {
	var removed, added []string
	for _, f := range prev {
		if !slices.Contains(cur, f) {
			removed = append(removed, f)
		}
	}
	for _, f := range cur {
		if !slices.Contains(prev, f) {
			added = append(added, f)
		}
	}
	addedKeys := map[store.Key]bool{}
	for _, f := range added {
		for _, k := range keys(f) {
			addedKeys[k] = true
		}
	}
	var p plan
	for _, f := range removed {
		shared := false
		for _, k := range keys(f) {
			shared = shared || base[k]
		}
		if shared {
			return plan{reset: true, cmds: applyAll(cur[1:], kube)}
		}
		del := false
		for _, k := range keys(f) {
			del = del || !addedKeys[k]
		}
		if del {
			p.cmds = append(p.cmds, fileCmd("delete", f, kube))
		}
	}
	p.cmds = append(p.cmds, applyAll(added, kube)...)
	return p
}

func applyAll(files []string, kube bool) []cmd {
	var out []cmd
	for _, f := range files {
		if f == topology {
			continue
		}
		if c, ok := kubeSeedCommands[f]; ok && kube {
			out = append(out, c...)
			continue
		}
		if c, ok := seedCommands[f]; ok {
			out = append(out, c...)
			continue
		}
		out = append(out, fileCmd("apply", f, kube))
	}
	return out
}

// fileKeys returns the keys of the objects in an examples file or
// directory.
func fileKeys(f string) []store.Key {
	objs, err := decodeFS(examples.FS, f)
	if err != nil {
		return nil
	}
	out := make([]store.Key, 0, len(objs))
	for _, o := range objs {
		out = append(out, store.KeyOf(o))
	}
	return out
}

// mappingNotes returns the "# seed: ..." comments of an examples file: where
// the file moved an address or a name of the seed into the lab.
func mappingNotes(f string) []string {
	data, err := fs.ReadFile(examples.FS, f)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	var out []string
	for i, line := range lines {
		j := strings.Index(line, "# seed:")
		if j < 0 {
			continue
		}
		seed := strings.TrimSpace(line[j+len("# seed:"):])
		lab := strings.TrimSpace(line[:j])
		if lab == "" && i+1 < len(lines) {
			lab = strings.TrimSpace(lines[i+1])
		}
		out = append(out, fmt.Sprintf("%s: the seed's %s is %s here", f, seed, lab))
	}
	return out
}
