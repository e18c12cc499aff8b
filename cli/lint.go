package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/lint"
)

func init() { register(newLintCmd) }

type lintOpts struct {
	files     []string
	recursive bool
	strict    bool
	output    string
	ds        datastoreOpts
}

func newLintCmd(s *streams) *cobra.Command {
	o := &lintOpts{}
	c := &cobra.Command{
		Use:   "lint [-f FILENAME...] [--strict]",
		Short: "Find probable mistakes in policy: shadowed rules, policies that select nothing, and more",
		Long: "lint reasons on the policy model (addresses, ports and selectors as explain sees them) of the\n" +
			"manifests (-f) or, without -f, of the datastore, and reports: rules an earlier rule of the same\n" +
			"policy shadows (never reached), policies that select no endpoint, selectors on labels no endpoint,\n" +
			"network set or namespace has, named ports no endpoint defines, host endpoints with policy whose\n" +
			"node has inbound failsafes off and no policy allowing SSH (an error), rules a policy's types ignore,\n" +
			"Pass in the last tier, and tiers without policies. With -f each finding names its file and line.\n" +
			"The exit status is 1 when there is an error (with --strict, any finding), else 0.",
		Example: "  palisade lint -f policies/\n  palisade lint --strict",
		Args:    cobra.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return runLint(s, o) },
	}
	addFileFlags(c, &o.files, &o.recursive)
	c.Flags().BoolVar(&o.strict, "strict", false, "exit 1 on warnings too")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "text or json")
	addDatastoreFlags(c, &o.ds)
	return c
}

func runLint(s *streams, o *lintOpts) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unrecognized output format '%s' (want text or json)", o.output)
	}
	m, docs, err := buildModelDocs(s, o.files, o.recursive, &o.ds)
	if err != nil {
		return err
	}
	where := map[string]string{}
	for _, d := range docs {
		if d.Source != "" {
			where[api.ID(d.Object)] = fmt.Sprintf("%s:%d", d.Source, d.Line)
		}
	}
	findings := lint.Check(m, objects(docs))
	errs := 0
	type located struct {
		lint.Finding
		Location string `json:"location,omitempty"`
	}
	var out []located
	for _, f := range findings {
		if f.Severity == lint.Error {
			errs++
		}
		out = append(out, located{Finding: f, Location: where[f.Object]})
	}
	if o.output == "json" {
		data, err := api.EncodeJSON(out)
		if err != nil {
			return err
		}
		fmt.Fprintln(s.out, string(data))
	} else {
		for _, f := range out {
			loc := ""
			if f.Location != "" {
				loc = f.Location + ": "
			}
			fmt.Fprintf(s.out, "%s%s\n", loc, f.Finding)
		}
		fmt.Fprintf(s.out, "%d error(s), %d warning(s)\n", errs, len(findings)-errs)
	}
	if errs > 0 || (o.strict && len(findings) > 0) {
		return &exitError{code: 1}
	}
	return nil
}
