package lab_test

import "github.com/palisade-net/palisade/lab"

// The seeds' commands, verbatim, for TestSeedsVerbatim: each line or
// heredoc is copied from the seed as a user would paste it (code blocks the
// seed splits in two are pasted one after the other). Where the seed's own
// text is broken, the broken line comes first (it must fail with a clear
// message) and the corrected line follows, with the reason.

// seed000DefaultNodePolicy is the seed's heredoc as its two code blocks
// paste: the rules lost their indentation under ingress.
const seed000DefaultNodePolicy = `cat <<EOF | calicoctl apply -f -
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-node-policy
spec:
  selector: has(kubernetes.io/hostname)
  ingress:
- action: Allow
  protocol: TCP
  source:
    nets:
      - 127.0.0.1/32
- action: Allow
  protocol: UDP
  source:
    nets:
      - 127.0.0.1/32
EOF`

// seed000DefaultNodePolicyFixed is what the seed means: the rules indented
// under ingress.
const seed000DefaultNodePolicyFixed = `cat <<EOF | calicoctl apply -f -
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-node-policy
spec:
  selector: has(kubernetes.io/hostname)
  ingress:
  - action: Allow
    protocol: TCP
    source:
      nets:
        - 127.0.0.1/32
  - action: Allow
    protocol: UDP
    source:
      nets:
        - 127.0.0.1/32
EOF`

const seed000NodeportDeny = `cat <<EOF | calicoctl apply -f -
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nodeport-policy
spec:
  order: 100
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  preDNAT: true
  ingress:
  - action: Deny
    protocol: TCP
    destination:
      ports: ["30000:32767"]
  - action: Deny
    protocol: UDP
    destination:
      ports: ["30000:32767"]
EOF`

// seed000NodeportHost1 is the seed's heredoc as its two code blocks paste:
// ingress lands at the top level of the document.
const seed000NodeportHost1 = `cat <<EOF | calicoctl apply -f -
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nodeport-policy
spec:
  order: 100
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  preDNAT: true
ingress:
- action: Allow
  protocol: TCP
  destination:
    ports: [30180]
  source:
    nets:
      - 198.19.15.254/32
- action: Deny
  protocol: TCP
  destination:
    ports: ["30000:32767"]
- action: Deny
  protocol: UDP
  destination:
    ports: ["30000:32767"]
EOF`

const seed000NodeportHost1Fixed = `cat <<EOF | calicoctl apply -f -
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nodeport-policy
spec:
  order: 100
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  preDNAT: true
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [30180]
    source:
      nets:
        - 198.19.15.254/32
  - action: Deny
    protocol: TCP
    destination:
      ports: ["30000:32767"]
  - action: Deny
    protocol: UDP
    destination:
      ports: ["30000:32767"]
EOF`

const (
	seed001Masters = `calicoctl apply -f - << EOF
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: ingress-k8s-masters
spec:
  selector: has(node-role.kubernetes.io/master)
  # This rule allows ingress to the Kubernetes API server.
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports:
      # kube API server
      - 6443
  # This rule allows all traffic to localhost.
  - action: Allow
    destination:
      nets:
      - 127.0.0.1/32
  # This rule is required in multi-master clusters where etcd pods are colocated with the masters.
  # Allow the etcd pods on the masters to communicate with each other. 2380 is the etcd peer port.
  # This rule also allows the masters to access the kubelet API on other masters (including itself).
  - action: Allow
    protocol: TCP
    source:
      selector: has(node-role.kubernetes.io/master)
    destination:
      ports:
      - 2380
      - 10250
EOF`
	seed001Workers = `calicoctl apply -f - << EOF
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: ingress-k8s-workers
spec:
  selector: has(kubernetes-worker)
  # Allow all traffic to localhost.
  ingress:
  - action: Allow
    destination:
      nets:
      - 127.0.0.1/32
  # Allow only the masters access to the nodes kubelet API.
  - action: Allow
    protocol: TCP
    source:
      selector: has(node-role.kubernetes.io/master)
    destination:
      ports:
      - 10250
EOF`
)

const (
	seed004DenyAll = `cat << EOF > deny-all.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: default
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
EOF`
	seed004AllowOutToIn = `cat << EOF > allow-out-to-in.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-out-to-in
  namespace: default
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector:
        matchLabels:
          test: out
  egress:
  - to:
    - podSelector:
        matchLabels:
          test: in
  policyTypes:
  - Ingress
  - Egress
EOF`
	seed004AdminNS = `kubectl create -f - << EOF
apiVersion: v1
kind: Namespace
metadata:
  name: admin
  labels:
    role: admin
EOF`
	seed004StagingPods = `kubectl create -f - << EOF
apiVersion: v1
kind: Pod
metadata:
  name: frontend
  namespace: staging
  labels:
    role: frontend
spec:
  containers:
  - name: nginx
    image: nginx
    ports:
    - name: http
      containerPort: 80
      protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
  namespace: staging
  labels:
    role: frontend
spec:
  selector:
    role: frontend
  ports:
  - protocol: TCP
    port: 80
    targetPort: http
---
apiVersion: v1
kind: Pod
metadata:
  name: backend
  namespace: staging
  labels:
    role: backend
spec:
  containers:
  - name: nginx
    image: nginx
    ports:
    - name: http
      containerPort: 80
      protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: staging
  labels:
    role: backend
spec:
  selector:
    role: backend
  ports:
  - protocol: TCP
    port: 80
    targetPort: http
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: staging
  labels:
    role: db
spec:
  containers:
  - name: postgres
    image: postgres
    ports:
    - name: postgres
      containerPort: 5432
      protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: staging
  labels:
    role: db
spec:
  selector:
    role: db
  ports:
  - protocol: TCP
    port: 5432
    targetPort: postgres
EOF`
	seed004StagingPolicy = `kubectl create -f - << EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: staging.db
  namespace: staging
spec:
  podSelector:
    matchLabels:
      role: db
  ingress:
  - from:
    - podSelector:
        matchLabels:
          role: backend
    - namespaceSelector:
        matchLabels:
          role: admin
    ports:
    - protocol: TCP
      port: 5432
  policyTypes:
  - Ingress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: staging.backend
  namespace: staging
spec:
  podSelector:
    matchLabels:
      role: backend
  ingress:
  - from:
    - podSelector:
        matchLabels:
          role: frontend
    - namespaceSelector:
        matchLabels:
          role: admin
    ports:
    - protocol: TCP
      port: 80
  policyTypes:
  - Ingress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: staging.frontend
  namespace: staging
spec:
  podSelector:
    matchLabels:
      role: frontend
  ingress:
  - from:
    - podSelector: {}
    - namespaceSelector:
        matchLabels:
          role: admin
    ports:
    - protocol: TCP
      port: 80
  policyTypes:
  - Ingress
EOF`
)

const (
	generatorGone = "kubectl removed `run --generator` (v1.21); the seed's kubectl predates that"
	autoHEPPatch  = `calicoctl patch kubecontrollersconfiguration default --patch='{"spec": {"controllers": {"node": {"hostEndpoint": {"autoCreate": "Enabled"}}}}}'`
)

// failing is a broken seed line: it must fail and say want.
func failing(line, why string, want ...string) vcmd {
	return vcmd{line: line, exit: -1, want: want, broken: why}
}

func ok(line string, want ...string) vcmd { return vcmd{line: line, want: want} }

// probe sends packets (the nodes must have programmed the state first).
func probe(on, line string, exit int, want ...string) vcmd {
	return vcmd{on: on, line: line, exit: exit, want: want, settle: true}
}

// eventually is a command whose result a controller brings about.
func eventually(line string, want ...string) vcmd { return vcmd{line: line, want: want, retry: true} }

// busyboxes are seed 004's `kubectl run` lines for busybox1 and busybox2
// (the seed's, which fail, then the corrected ones).
func busyboxes() []vcmd {
	var out []vcmd
	for _, b := range []string{"busybox1", "busybox2"} {
		out = append(out,
			failing("kubectl run --generator=run-pod/v1 "+b+" --image=busybox -- sleep 3600", generatorGone, "unknown flag: --generator"),
			ok("kubectl run "+b+" --image=busybox -- sleep 3600", "pod/"+b+" created"))
	}
	return out
}

func verbatimSections(topo *lab.Topology) []vsection {
	ip := func(key string) string {
		p, ok := topo.Pod(key)
		if !ok {
			panic("no pod " + key + " in the lab topology")
		}
		return p.IP.String()
	}
	bb1, bb2 := ip("default/busybox1"), ip("default/busybox2")
	pingLost := []string{"3 packets transmitted, 0 received, 100% packet loss"}
	pingOK := []string{"3 packets transmitted, 3 received, 0% packet loss"}
	return []vsection{
		{
			name: "seed000",
			// "Thus far, we've created policies that protect pods": the
			// previous module deployed yaobank (customer NodePort 30180).
			pre: []vcmd{
				ok("kubectl apply -f $LAB_EXAMPLES/topology/10-namespaces.yaml"),
				ok("kubectl apply -f $LAB_EXAMPLES/topology/20-yaobank.yaml"),
				eventually("kubectl get pods -n yaobank", "customer", "Running"),
			},
			cmds: []vcmd{
				probe("host1", "nc -w 3 198.19.0.1 21", 0),
				failing(seed000DefaultNodePolicy, "the seed splits the heredoc in two code blocks and the second lost its indentation",
					"line 8", "did not find expected key"),
				ok(seed000DefaultNodePolicyFixed, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)"),
				ok("calicoctl get heps", "NAME"),
				failing(`calicoctl patch kubecontrollersconfiguration default --patch='{"spec": {"controllers": {"node": {"hostEndpoint": {"autoCreate": "Enabled"}}}}'`,
					"the seed's patch misses its last closing brace", "patch is not valid JSON", "1 '{'"),
				ok(autoHEPPatch, "Successfully patched 1 'KubeControllersConfiguration' resource"),
				eventually("calicoctl get heps", "node2-auto-hep", "control-auto-hep", "node1-auto-hep"),
				probe("host1", "nc -w 3 198.19.0.1 21", 1),
				ok(seed000NodeportDeny, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)"),
				probe("host1", "curl --connect-timeout 3 198.19.0.1:30180", 28),
				failing(seed000NodeportHost1, "the seed splits the heredoc in two code blocks and the second lost its indentation",
					"ingress", "not recognized"),
				ok(seed000NodeportHost1Fixed, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)"),
				probe("host1", "curl 198.19.0.1:30180", 0, "answered"),
				// "but will fail from any other location"
				probe("host2", "curl --connect-timeout 3 198.19.0.1:30180", 28),
			},
		},
		{
			name: "seed001",
			cmds: []vcmd{
				ok(autoHEPPatch, "Successfully patched 1 'KubeControllersConfiguration' resource"),
				eventually("calicoctl get heps -owide", "NAME", "NODE", "INTERFACE", "IPS", "PROFILES",
					"control-auto-hep", "node1-auto-hep", "node2-auto-hep", "projectcalico-default-allow"),
				ok("kubectl label nodes --all kubernetes-host=", "node/control labeled", "node/node1 labeled", "node/node2 labeled"),
				ok("kubectl label node node1 environment=dev", "node/node1 labeled"),
				ok("kubectl label node node2 environment=dev", "node/node2 labeled"),
				eventually("calicoctl get heps -o yaml", "environment: dev", "kubernetes-host: \"\""),
				ok(seed001Masters, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)"),
				ok("kubectl get node -l '!node-role.kubernetes.io/master' -o custom-columns=NAME:.metadata.name | tail -n +2 | xargs -I{} kubectl label node {} kubernetes-worker=",
					"node/node1 labeled", "node/node2 labeled"),
				eventually("calicoctl get hep node1-auto-hep -o yaml", "kubernetes-worker: \"\""),
				ok(seed001Workers, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)"),
				// What the tutorial promises: SSH (a failsafe) and the API
				// server stay open, the kubelet only to the masters.
				probe("host1", "nc -w 3 198.19.0.2 22 </dev/null", 0),
				probe("host1", "nc -w 3 198.19.0.1 6443 </dev/null", 0),
				probe("host1", "nc -w 3 198.19.0.2 10250 </dev/null", 1),
				probe("control", "nc -w 3 198.19.0.2 10250 </dev/null", 0),
			},
		},
		{
			name: "seed003",
			cmds: []vcmd{
				ok("calicoctl get felixconfiguration default --export -o yaml > default-felix-config.yaml"),
				// "Open the file in a text editor and add the parameter".
				ok(`grep -q '^spec:' default-felix-config.yaml || echo 'spec: {}' >> default-felix-config.yaml
sed -i 's/^spec: {}$/spec:/; s/^spec:$/spec:\n  defaultEndpointToHostAction: Accept/' default-felix-config.yaml
grep defaultEndpointToHostAction default-felix-config.yaml`, "defaultEndpointToHostAction: Accept"),
				ok("calicoctl apply -f default-felix-config.yaml", "Successfully applied 1 'FelixConfiguration' resource(s)"),
				ok("calicoctl get felixconfiguration default -o yaml", "defaultEndpointToHostAction: Accept"),
			},
		},
		{
			name:  "seed004-minikube",
			addrs: map[string]string{"10.1.235.88": bb1},
			notRun: []string{
				"minikube start --network-plugin=cni --memory=4096 (the lab is the cluster)",
				"kubectl create -f https://raw.githubusercontent.com/cilium/cilium/... (installs another network plugin from the internet; palisade is the one here)",
			},
			cmds: append(busyboxes(),
				eventually("kubectl get po -o wide", "busybox1", "busybox2", "Running", bb1, bb2),
				ok(seed004DenyAll),
				ok("kubectl create -f deny-all.yaml", "networkpolicy.networking.k8s.io/deny-all created"),
				probe("", "kubectl exec -ti busybox2 -- ping -c3 10.1.235.88", 1, pingLost...),
				ok(seed004AllowOutToIn),
				failing("kubectl crate -f allow-out-to-in.yaml", "the seed misspells create", `unknown command "crate"`),
				ok("kubectl create -f allow-out-to-in.yaml", "networkpolicy.networking.k8s.io/allow-out-to-in created"),
				ok("kubectl label pod busybox1 test=in", "pod/busybox1 labeled"),
				ok("kubectl label pod busybox2 test=out", "pod/busybox2 labeled"),
				probe("", "kubectl exec -ti busybox2 -- ping -c3  10.1.235.88", 0, pingOK...),
			),
		},
		{
			name: "seed004-staging",
			cmds: []vcmd{
				// The minikube section's policies are gone with the reset.
				ok("kubectl delete networkpolicy --all"),
				ok("kubectl create ns staging", "namespace/staging created"),
				ok(seed004AdminNS, "namespace/admin created"),
				ok(seed004StagingPods, "pod/frontend created", "service/frontend created", "pod/backend created",
					"service/backend created", "pod/db created", "service/db created"),
				ok(seed004StagingPolicy, "networkpolicy.networking.k8s.io/staging.db created",
					"networkpolicy.networking.k8s.io/staging.backend created", "networkpolicy.networking.k8s.io/staging.frontend created"),
				failing("kubectl run --namespace=staging --generator=run-pod/v1 curl --image=pstauffer/curl -- sleep 3600", generatorGone,
					"unknown flag: --generator"),
				ok("kubectl run --namespace=staging curl --image=pstauffer/curl -- sleep 3600", "pod/curl created"),
				eventually("kubectl get pods -n staging", "curl", "Running"),
				probe("", "kubectl exec -ti curl -n staging -- curl frontend.staging.svc.cluster.local:80", 0, "answered"),
				probe("", "kubectl exec -ti curl -n staging -- curl backend.staging.svc.cluster.local:80 --max-time 5", 28,
					"Connection timed out after 500"),
				failing("kubectl run --namespace=admin --generator=run-pod/v1 curl --image=pstauffer/curl -- sleep 3600", generatorGone,
					"unknown flag: --generator"),
				ok("kubectl run --namespace=admin curl --image=pstauffer/curl -- sleep 3600", "pod/curl created"),
				eventually("kubectl get pods -n admin", "curl", "Running"),
				probe("", "kubectl exec -ti curl -n admin -- curl backend.staging.svc.cluster.local:80", 0, "answered"),
				failing(`kubectl run --namespace=admin --generator=run-pod/v1 pclient --image=jbergknoff/postgresql-client -- -h db.staging.svc.cluster.local -U postgres -p 5432 -d postgres -c "\l"`,
					generatorGone, "unknown flag: --generator"),
				ok(`kubectl run --namespace=admin pclient --image=jbergknoff/postgresql-client -- -h db.staging.svc.cluster.local -U postgres -p 5432 -d postgres -c "\l"`,
					"pod/pclient created"),
				eventually("kubectl get pods -n admin", "pclient", "Running"),
				// `kubectl logs pclient -n admin` needs a kubelet serving the
				// container's log; what the log shows is that the client
				// reached postgres, which is what this checks.
				probe("", "palisade lab exec admin/pclient -- nc -z -w 3 db.staging.svc.cluster.local 5432", 0),
			},
			notRun: []string{"kubectl logs pclient -n admin (no kubelet serves container logs in the lab; the connection it shows is checked instead)"},
		},
		{
			// "Amazon EKS", after "we will have to deploy a Calico
			// DaemonSet": palisade is the policy engine from the start.
			name:  "seed004-eks",
			addrs: map[string]string{"192.168.76.157": bb1},
			notRun: []string{
				"kubectl apply -f https://raw.githubusercontent.com/aws/amazon-vpc-cni-k8s/... (installs Calico from the internet; palisade enforces already, so the first ping is lost too)",
				"kubectl get daemonset calico-node --namespace kube-system (Calico's DaemonSet; palisade's agents are the lab's)",
				"kubectl exec -ti busybox1 -- ping -c3 192.168.76.157 (busybox1 pinging its own address: the seed's output is another run's; a pod's packets to itself never leave it)",
			},
			cmds: append(busyboxes(),
				eventually("kubectl get po -o wide", "busybox1", "busybox2", "Running", bb1, bb2),
				ok("kubectl create -f deny-all.yaml", "networkpolicy.networking.k8s.io/deny-all created"),
				probe("", "kubectl exec -ti busybox2 -- ping -c3 192.168.76.157", 1, pingLost...),
				ok("kubectl label pod busybox1 test=in", "pod/busybox1 labeled"),
				ok("kubectl label pod busybox2 test=out", "pod/busybox2 labeled"),
				failing("kubectl apply -f allow-from-out-to-in.yaml", "the seed saved the policy as allow-out-to-in.yaml",
					"allow-from-out-to-in.yaml", "does not exist"),
				ok("kubectl apply -f allow-out-to-in.yaml", "networkpolicy.networking.k8s.io/allow-out-to-in created"),
				probe("", "kubectl exec -ti busybox2 -- ping -c3 192.168.76.157", 0, pingOK...),
			),
		},
		{
			name:  "seed004-gke",
			addrs: map[string]string{"10.48.0.9": bb2, "10.4.2.3": bb1},
			notRun: []string{
				"gcloud container clusters create/get-credentials (another cloud's cluster)",
				"kubectl get daemonset calico-node --namespace kube-system (GKE's Calico DaemonSet)",
			},
			cmds: append(append(busyboxes(),
				ok("kubectl create -f deny-all.yaml", "networkpolicy.networking.k8s.io/deny-all created"),
				eventually("kubectl get po  -o wide", "busybox1", "busybox2", "Running", bb1, bb2),
				// The seed's GKE without --enable-network-policy lets this
				// through; with palisade the deny-all policy holds.
				probe("", "kubectl exec -ti busybox1 -- ping -c3  10.48.0.9", 1, pingLost...),
			), probe("", "kubectl exec -ti busybox2 -- ping -c3  10.4.2.3", 1, pingLost...)),
		},
		{
			name:   "seed004-pke",
			addrs:  map[string]string{"10.20.160.2": bb1},
			notRun: []string{"kubectl get daemonset weave-net -n kube-system (PKE's Weave DaemonSet)"},
			cmds: append(busyboxes(),
				ok("kubectl create -f deny-all.yaml", "networkpolicy.networking.k8s.io/deny-all created"),
				probe("", "kubectl exec -ti busybox2 -- ping -c3  10.20.160.2", 1, pingLost...),
			),
		},
		{
			name: "seed004-isolate-namespace",
			cmds: []vcmd{
				ok("kubectl label ns default nsname=default", "namespace/default labeled"),
				ok("kubectl get ns default --show-labels", "nsname=default"),
			},
		},
	}
}
