package examples_test

import (
	"testing"

	"github.com/palisade-net/palisade/examples"
)

func TestSeed004(t *testing.T) {
	validateDir(t, "seed004")
	runSteps(t, examples.Walkthrough("seed004"))
}
