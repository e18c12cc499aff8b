package examples_test

import (
	"testing"

	"github.com/palisade-net/palisade/examples"
)

func TestSeed001(t *testing.T) {
	validateDir(t, "seed001")
	runSteps(t, examples.Walkthrough("seed001"))
}
