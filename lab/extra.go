package lab

import (
	"hash/fnv"
	"math/rand/v2"
)

// extraPorts are the ports extra flows use: the seeds' services, a
// failsafe port, DNS, ICMP and both NodePorts.
var extraPorts = []string{"0/ICMP", "22/TCP", "53/UDP", "80/TCP", "443/TCP", "2379/TCP", "5432/TCP",
	"6379/TCP", "6443/TCP", "9100/TCP", "10250/TCP", "30010/TCP", "30180/TCP"}

// extraFlows picks n flows the seeds do not list, the same ones for the
// same step every run: random sources (pods, nodes' processes, outside
// hosts) to random destinations (pods, node addresses, outside hosts). They
// have no expected verdict; the kernel and explain must agree on them.
func (l *Lab) extraFlows(sc Scenario, st step, n int) []flow {
	h := fnv.New64a()
	h.Write([]byte(sc.Name + "/" + st.name))
	rng := rand.New(rand.NewPCG(h.Sum64(), 5))
	var srcs, dsts []string
	for _, p := range l.topo.Pods {
		srcs, dsts = append(srcs, p.Key()), append(dsts, p.Key())
	}
	for _, nd := range l.topo.Nodes {
		srcs, dsts = append(srcs, "node:"+nd.Name), append(dsts, nd.IP.String())
	}
	for _, ho := range l.topo.Hosts {
		srcs, dsts = append(srcs, ho.IP.String()), append(dsts, ho.IP.String())
	}
	var out []flow
	for len(out) < n {
		f := flow{from: srcs[rng.IntN(len(srcs))], to: dsts[rng.IntN(len(dsts))],
			port: extraPorts[rng.IntN(len(extraPorts))], why: "extra flow: kernel and explain must agree"}
		a, errA := l.resolve(f.from)
		b, errB := l.resolve(f.to)
		if errA != nil || errB != nil || a.ns == b.ns {
			continue
		}
		out = append(out, f)
	}
	return out
}
