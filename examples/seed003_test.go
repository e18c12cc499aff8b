package examples_test

import (
	"testing"

	"github.com/palisade-net/palisade/examples"
)

func TestSeed003(t *testing.T) {
	validateDir(t, "seed003")
	runSteps(t, examples.Walkthrough("seed003"))
}
