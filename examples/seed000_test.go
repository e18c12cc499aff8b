package examples_test

import (
	"testing"

	"github.com/palisade-net/palisade/examples"
)

func TestSeed000(t *testing.T) {
	validateDir(t, "seed000")
	runSteps(t, examples.Walkthrough("seed000"))
}
