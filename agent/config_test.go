package agent

import (
	"errors"
	"testing"
)

// TestConfigRulesAndEngine: --rules and --engine take their documented
// values, default to compiled and incremental, and anything else is
// refused naming the flag.
func TestConfigRulesAndEngine(t *testing.T) {
	for _, tc := range []struct {
		name          string
		rules, engine string
		field         string // "" when valid
	}{
		{"defaults", "", "", ""},
		{"compiled", RulesCompiled, EngineIncremental, ""},
		{"linear", RulesLinear, EngineRebuild, ""},
		{"bad rules", "fast", "", "rules"},
		{"bad engine", "", "fast", "engine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Node: "n1", HealthListen: "-", Rules: tc.rules, Engine: tc.engine}.Defaults()
			if tc.rules == "" && c.Rules != RulesCompiled {
				t.Errorf("default rules = %q, want %q", c.Rules, RulesCompiled)
			}
			err := c.Validate()
			var ce *ConfigError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.field != "" && (!errors.As(err, &ce) || ce.Field != tc.field):
				t.Errorf("Validate() = %v, want a ConfigError on %q", err, tc.field)
			}
		})
	}
}
