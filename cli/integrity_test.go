package cli

import (
	"testing"
)

// The datastore refuses writes that would leave a dangling reference, with
// Calico's messages where Calico has them; nothing is half-applied.
func TestDanglingReferencesRefused(t *testing.T) {
	newMemory(t)
	tier := "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 10}\n"
	pol := "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: security.p}\nspec: {tier: security, selector: all()}\n"
	hep := func(profile string) string {
		return "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: h}\nspec: {node: n1, interfaceName: eth0, profiles: [" + profile + "]}\n"
	}
	profile := "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: p1}\n"
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n"
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app}\nspec: {containers: [{name: c, image: x}]}\n"

	want(t, pol, 1, "", "failed to apply 'GlobalNetworkPolicy' resource: [GlobalNetworkPolicy(security.p): spec.tier: "+
		"resource does not exist: Tier(security) with error: <nil>]\n", "apply", "-f", "-")
	want(t, tier+"---\n"+pol, 0, "Successfully applied 2 resource(s)\n", "", "apply", "-f", "-")
	want(t, "", 1, "", "Failed to delete 'Tier' resource: operation Delete is not supported on Tier(security): "+
		"Cannot delete a non-empty tier (it holds GlobalNetworkPolicy(security.p))\n", "delete", "tier", "security")
	want(t, "", 1, "", "Failed to delete 'Tier' resource: operation Delete is not supported on Tier(default): "+
		"the default tier cannot be deleted\n", "delete", "tier", "default")
	want(t, "", 0, "Successfully deleted 1 'GlobalNetworkPolicy' resource(s)\n", "", "delete", "gnp", "security.p")
	want(t, "", 0, "Successfully deleted 1 'Tier' resource(s)\n", "", "delete", "tier", "security")

	want(t, hep("projectcalico-default-alow"), 1, "", "failed to apply 'HostEndpoint' resource: [HostEndpoint(h): spec.profiles: "+
		"resource does not exist: Profile(projectcalico-default-alow) with error: <nil>]\n", "apply", "-f", "-")
	want(t, hep("projectcalico-default-allow"), 0, "Successfully applied 1 'HostEndpoint' resource(s)\n", "", "apply", "-f", "-")
	want(t, profile+"---\n"+hep("p1"), 0, "Successfully applied 2 resource(s)\n", "", "apply", "-f", "-")
	want(t, "", 1, "", "Failed to delete 'Profile' resource: operation Delete is not supported on Profile(p1): "+
		"the profile is still used by HostEndpoint(h)\n", "delete", "profile", "p1")

	want(t, pod, 1, "", "failed to apply 'Pod' resource: [Pod(app/web): metadata.namespace: "+
		"resource does not exist: Namespace(app) with error: <nil>]\n", "apply", "-f", "-")
	want(t, ns+"---\n"+pod, 0, "Successfully applied 2 resource(s)\n", "", "apply", "-f", "-")
	want(t, "", 1, "", "Failed to delete 'Namespace' resource: operation Delete is not supported on Namespace(app): "+
		"the namespace still holds Pod(app/web); delete them first\n", "delete", "namespace", "app")
}
