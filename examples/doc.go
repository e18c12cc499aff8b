// Package examples holds the manifests of the seed walkthroughs (seeds 000 to
// 004), ready for `palisade validate|explain|matrix -f`, and the tests that
// check the verdicts each seed describes. See README.md.
//
// The package has no Go API; its content is the YAML under topology/ and
// seedNNN/, and seeds_test.go and seedNNN_test.go.
package examples
