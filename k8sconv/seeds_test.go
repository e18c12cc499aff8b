package k8sconv

import "testing"

// seedCases are every Kubernetes NetworkPolicy of seed 004 (the users'
// collection of network policy recipes; examples/seed004). The seed text lost its
// indentation in places; the inputs below are the intended YAML. Policies
// the seed shows without a namespace get "default", which is what kubectl
// would have used.
var seedCases = []yamlCase{
	{
		name: "team-netpol", note: "empty from with ports: any source, TCP 80; egress type with no rules denies",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: team-netpol, namespace: org-1}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    ports:
    - protocol: TCP
      port: 80
`,
		want: `
metadata: {name: team-netpol, namespace: org-1}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [80]}
`,
	},
	{
		name: "deny-all-egress", note: "null ingress and egress with both types: deny both ways; types come out Ingress first",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all-egress, namespace: cs1}
spec:
  podSelector: {}
  ingress:
  egress:
  policyTypes: [Egress, Ingress]
`,
		want: `
metadata: {name: deny-all-egress, namespace: cs1}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
`,
	},
	{
		name: "allow-all-egress", note: "[{}] in each direction: one allow-all rule each",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-egress, namespace: cs1}
spec:
  podSelector: {}
  ingress:
  - {}
  egress:
  - {}
  policyTypes: [Egress, Ingress]
`,
		want: `
metadata: {name: allow-all-egress, namespace: cs1}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
`,
	},
	{
		name: "deny-all scope of action", note: "matchLabels access: \"true\"",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: default}
spec:
  podSelector:
    matchLabels:
      access: "true"
  policyTypes: [Ingress, Egress]
  ingress:
  egress:
`,
		want: `
metadata: {name: deny-all, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && access == 'true'
  types: [Ingress, Egress]
`,
	},
	{
		name: "deny-all restrict IP", note: "seed has no namespace; ipBlock with except",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress, Ingress]
  ingress:
  egress:
  - to:
    - ipBlock:
        cidr: 192.168.0.0/16
        except:
        - 192.168.94.134/32
`,
		want: `
metadata: {name: deny-all, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  egress:
  - action: Allow
    destination:
      nets: [192.168.0.0/16]
      notNets: [192.168.94.134/32]
`,
	},
	{
		name: "namespace-allow by label", note: "namespaceSelector only: pods of matching namespaces",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: namespace-allow, namespace: default}
spec:
  policyTypes: ["Ingress"]
  podSelector: {}
  ingress:
   - from:
     - namespaceSelector:
        matchLabels:
          name: cs1
`,
		want: `
metadata: {name: namespace-allow, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
  ingress:
  - action: Allow
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: name == 'cs1'
`,
	},
	{
		name: "namespace-allow In expression", note: "matchExpressions In; Egress type with no egress rules",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: namespace-allow, namespace: default}
spec:
  policyTypes: ["Ingress","Egress"]
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - key: name
          operator: In
          values: ["cs1","cs2"]
`,
		want: `
metadata: {name: namespace-allow, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: name in { 'cs1', 'cs2' }
`,
	},
	{
		name: "namespace-allow by pod label", note: "podSelector peer in the policy's namespace",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: namespace-allow, namespace: default}
spec:
  policyTypes: ["Ingress"]
  podSelector: {}
  ingress:
  - from:
    - podSelector:
        matchLabels:
          access: "true"
`,
		want: `
metadata: {name: namespace-allow, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
  ingress:
  - action: Allow
    source:
      selector: projectcalico.org/orchestrator == 'k8s' && access == 'true'
`,
	},
	{
		name: "snippet deny ingress", note: "ingress: [] with Ingress type",
		in: `
metadata: {name: snippet-deny-ingress, namespace: default}
spec:
  podSelector: {}
  ingress: []
  policyTypes:
  - Ingress
`,
		want: `
metadata: {name: snippet-deny-ingress, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
`,
	},
	{
		name: "snippet allow ingress",
		in: `
metadata: {name: snippet-allow-ingress, namespace: default}
spec:
  podSelector: {}
  ingress:
  - {}
  policyTypes:
  - Ingress
`,
		want: `
metadata: {name: snippet-allow-ingress, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
  ingress: [{action: Allow}]
`,
	},
	{
		name: "snippet deny egress",
		in: `
metadata: {name: snippet-deny-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes:
  - Egress
`,
		want: `
metadata: {name: snippet-deny-egress, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Egress]
`,
	},
	{
		name: "snippet allow egress",
		in: `
metadata: {name: snippet-allow-egress, namespace: default}
spec:
  podSelector: {}
  egress:
  - {}
  policyTypes:
  - Egress
`,
		want: `
metadata: {name: snippet-allow-egress, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Egress]
  egress: [{action: Allow}]
`,
	},
	{
		name: "allow-redis-nodejs", note: "indentation lost in the seed; no policyTypes, so Ingress",
		in: `
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: allow-redis-nodejs
  namespace: default
spec:
  podSelector:
    matchLabels:
      service: redis
  ingress:
  - from:
    - podSelector:
        matchLabels:
          service: nodejs
    ports:
    - protocol: TCP
      port: 6379
`,
		want: `
metadata: {name: allow-redis-nodejs, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && service == 'redis'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s' && service == 'nodejs'
    destination: {ports: [6379]}
`,
	},
	{
		name: "allow-metrics-prom", note: "indentation lost in the seed",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-metrics-prom
  namespace: default
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          module: prometheus
    ports:
    - protocol: TCP
      port: 9100
`,
		want: `
metadata: {name: allow-metrics-prom, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: module == 'prometheus'
    destination: {ports: [9100]}
`,
	},
	{
		name: "deny-all both directions", note: "appears twice in the seed (article and demo)",
		in: `
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
`,
		want: `
metadata: {name: deny-all, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
`,
	},
	{
		name: "allow-all", note: "the seed writes ingress: {} and egress: {}, which does not decode (see TestSeedAllowAllAsWritten); the intent is [{}]",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-all
  namespace: default
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - {}
  egress:
  - {}
`,
		want: `
metadata: {name: allow-all, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
`,
	},
	{
		name: "isolate-namespace",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: isolate-namespace
  namespace: default
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          nsname: default
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          nsname: default
`,
		want: `
metadata: {name: isolate-namespace, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: nsname == 'default'
  egress:
  - action: Allow
    destination:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: nsname == 'default'
`,
	},
	{
		name: "db-connection", note: "assembled from the numbered fragments (lines 1-34); port 3360 as written, though the prose says 3306",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-connection
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          nsname: allowedns
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 3360
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 8000
`,
		want: `
metadata: {name: db-connection, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && role == 'db'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {nets: [172.17.0.0/16], notNets: [172.17.1.0/24]}
    destination: {ports: [3360]}
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: nsname == 'allowedns'
    destination: {ports: [3360]}
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s' && role == 'frontend'
    destination: {ports: [3360]}
  egress:
  - action: Allow
    protocol: TCP
    destination: {nets: [10.0.0.0/24], ports: [8000]}
`,
	},
	{
		name: "allow-out-to-in",
		in: `
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
`,
		want: `
metadata: {name: allow-out-to-in, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    source: {selector: projectcalico.org/orchestrator == 'k8s' && test == 'out'}
  egress:
  - action: Allow
    destination: {selector: projectcalico.org/orchestrator == 'k8s' && test == 'in'}
`,
	},
	{
		name: "staging.db", note: "two peers are OR: one rule each",
		in: `
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
`,
		want: `
metadata: {name: staging.db, namespace: staging}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && role == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: projectcalico.org/orchestrator == 'k8s' && role == 'backend'}
    destination: {ports: [5432]}
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: role == 'admin'
    destination: {ports: [5432]}
`,
	},
	{
		name: "staging.backend",
		in: `
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
`,
		want: `
metadata: {name: staging.backend, namespace: staging}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && role == 'backend'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: projectcalico.org/orchestrator == 'k8s' && role == 'frontend'}
    destination: {ports: [80]}
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: role == 'admin'
    destination: {ports: [80]}
`,
	},
	{
		name: "staging.frontend", note: "podSelector: {} peer = every pod of the policy's namespace",
		in: `
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
`,
		want: `
metadata: {name: staging.frontend, namespace: staging}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && role == 'frontend'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: projectcalico.org/orchestrator == 'k8s'}
    destination: {ports: [80]}
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
      namespaceSelector: role == 'admin'
    destination: {ports: [80]}
`,
	},
}

func TestSeedPolicies(t *testing.T) { runYAMLCases(t, seedCases) }
