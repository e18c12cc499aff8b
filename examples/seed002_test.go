package examples_test

import (
	"testing"

	"github.com/palisade-net/palisade/examples"
)

func TestSeed002(t *testing.T) {
	validateDir(t, "seed002")
	runSteps(t, examples.Walkthrough("seed002"))
}
