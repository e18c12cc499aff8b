package selector

import "testing"

const benchSelector = `app == 'app-42' && tier == 'api' && env in {'prod', 'staging'} && has(team) && !has(quarantine)`

func benchLabels() Map {
	return Map{
		"app":                         "app-42",
		"tier":                        "api",
		"env":                         "staging",
		"team":                        "payments",
		"version":                     "v1.2.3",
		"projectcalico.org/namespace": "prod",
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSelector); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	sel := MustParse(benchSelector)
	labels := benchLabels()
	b.ReportAllocs()
	for b.Loop() {
		if !sel.Matches(labels) {
			b.Fatal("no match")
		}
	}
}
