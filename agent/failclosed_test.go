package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

// A host endpoint whose profile does not exist and a policy whose stored
// value cannot be read: the agent renders both closed, readiness names
// them, the metric counts them; repairing them makes the agent ready.
func TestAgentFailClosedReadiness(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: typo, labels: {role: node}}
spec: {node: `+testNode+`, interfaceName: eth0, profiles: [projectcalico-default-alow]}
`)...)
	bad := store.Key{Kind: api.KindGlobalNetworkPolicy, Name: "deny-ssh"}
	if err := st.PutRaw(context.Background(), bad, []byte("{broken")); err != nil {
		t.Fatal(err)
	}
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 3*time.Second, func() error {
		return textHas(f, "unresolved endpoint, failing closed")
	})
	eventually(t, 3*time.Second, func() error {
		err := a.Ready()
		if err == nil || !strings.Contains(err.Error(), `HostEndpoint(typo): spec.profiles: profile "projectcalico-default-alow" does not exist`) ||
			!strings.Contains(err.Error(), "GlobalNetworkPolicy(deny-ssh): stored value cannot be read") {
			return fmt.Errorf("Ready = %v", err)
		}
		return nil
	})
	if code, body := get(t, a, "/metrics"); code != 200 || strings.Count(body, "palisade_agent_fail_closed{") != 2 {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if _, err := st.Delete(context.Background(), bad, ""); err != nil {
		t.Fatal(err)
	}
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: projectcalico-default-alow}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
`)...)
	eventually(t, 3*time.Second, a.Ready)
}
