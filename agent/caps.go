package agent

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// ErrNoNetAdmin says the process cannot program nftables or read routes.
var ErrNoNetAdmin = errors.New("palisade agent needs CAP_NET_ADMIN (to program nftables and to read links and routes): " +
	"run it as root or grant the capability (systemd: AmbientCapabilities=CAP_NET_ADMIN; Kubernetes: " +
	"securityContext.capabilities.add: [NET_ADMIN])")

// CheckNetAdmin fails with ErrNoNetAdmin when this process lacks
// CAP_NET_ADMIN in its effective set. The agent checks before it writes
// anything to the datastore.
func CheckNetAdmin() error {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return fmt.Errorf("checking capabilities: %w", err)
	}
	defer f.Close()
	ok, err := hasCapability(bufio.NewScanner(f), capNetAdmin)
	if err != nil {
		return fmt.Errorf("checking capabilities: %w", err)
	}
	if !ok {
		return ErrNoNetAdmin
	}
	return nil
}

// hasCapability reads the CapEff line of a /proc/PID/status.
func hasCapability(sc *bufio.Scanner, bit uint) (bool, error) {
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return false, fmt.Errorf("CapEff %q: %w", strings.TrimSpace(v), err)
		}
		return caps&(1<<bit) != 0, nil
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, errors.New("no CapEff line in /proc/self/status")
}
