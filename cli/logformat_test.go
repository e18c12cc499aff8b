package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogFormat(t *testing.T) {
	var b bytes.Buffer
	l, err := newLogger(&b, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("applied the ruleset", "chains", 3)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["msg"] != "applied the ruleset" || m["chains"] != float64(3) {
		t.Errorf("json log line %q: %v", b.String(), err)
	}
	b.Reset()
	l, _ = newLogger(&b, "debug", "text")
	l.Debug("hello")
	if !strings.Contains(b.String(), "level=DEBUG msg=hello") {
		t.Errorf("text log line %q", b.String())
	}
	if _, err := newLogger(&b, "info", "yaml"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("--log-format yaml: %v", err)
	}
}
