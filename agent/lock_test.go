package agent

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestLockNamespace(t *testing.T) {
	old := LockDir
	LockDir = t.TempDir()
	t.Cleanup(func() { LockDir = old })
	release, err := LockNamespace()
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockNamespace()
	if !errors.Is(err, ErrAgentRunning) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	release()
	release, err = LockNamespace()
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}
