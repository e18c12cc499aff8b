package cli

import (
	"errors"
	"fmt"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/spf13/cobra"
)

func newValidate(s *streams) *cobra.Command {
	var files []string
	var recursive bool
	c := &cobra.Command{
		Use:   "validate -f FILENAME [-f ...]",
		Short: "Check manifests offline: syntax, fields, values and references",
		Long: "validate decodes every document strictly, defaults and validates it, then builds the\n" +
			"policy model to check references between objects (tiers, profiles). It prints every\n" +
			"problem and exits 1 if there is any.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return fmt.Errorf("validate needs at least one -f FILENAME (or -f - for standard input)")
			}
			docs, errs := loadManifests(files, recursive, s.in)
			if _, err := policy.NewModel(objects(docs)); err != nil {
				var be *policy.BuildError
				if errors.As(err, &be) {
					errs = append(errs, be.Problems...)
				} else {
					errs = append(errs, err)
				}
			}
			for _, e := range errs {
				fmt.Fprintln(s.err, e)
			}
			if len(errs) > 0 {
				fmt.Fprintf(s.err, "%d problem(s) found in %d valid and %d invalid document(s)\n", len(errs), len(docs), countDocErrors(errs))
				return &exitError{code: 1}
			}
			fmt.Fprintf(s.out, "%d resource(s) valid\n", len(docs))
			return nil
		},
	}
	addFileFlags(c, &files, &recursive)
	return c
}

func addFileFlags(c *cobra.Command, files *[]string, recursive *bool) {
	c.Flags().StringArrayVarP(files, "filename", "f", nil, "file, directory or - (standard input) to read manifests from; repeatable")
	c.Flags().BoolVarP(recursive, "recursive", "R", false, "descend into subdirectories of -f directories")
}

func countDocErrors(errs []error) int {
	n := 0
	for _, e := range errs {
		var de *api.DocumentError
		if errors.As(e, &de) {
			n++
		}
	}
	return n
}
