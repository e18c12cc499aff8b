package flowlog

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/render"
)

func ipv4(proto uint8, src, dst string, l4 []byte) []byte {
	b := make([]byte, 20, 20+len(l4))
	b[0] = 0x45
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	return append(b, l4...)
}

func ipv6(proto uint8, src, dst string, l4 []byte) []byte {
	b := make([]byte, 40, 40+len(l4))
	b[0] = 0x60
	b[6] = proto
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(b, l4...)
}

func ports(s, d uint16) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], s)
	binary.BigEndian.PutUint16(b[2:], d)
	return b
}

func TestParsePacket(t *testing.T) {
	a4, b4 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	a6, b6 := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	for _, tc := range []struct {
		name    string
		in      []byte
		want    Packet
		wantErr bool
	}{
		{"tcp4", ipv4(6, "198.18.0.1", "198.18.0.2", ports(40000, 80)), Packet{Proto: 6, Src: a4, Dst: b4, SrcPort: 40000, DstPort: 80}, false},
		{"udp6", ipv6(17, "fd00::1", "fd00::2", ports(53000, 53)), Packet{Proto: 17, Src: a6, Dst: b6, SrcPort: 53000, DstPort: 53}, false},
		{"icmp4 echo", ipv4(1, "198.18.0.1", "198.18.0.2", []byte{8, 0, 0, 0}), Packet{Proto: 1, Src: a4, Dst: b4, ICMP: true, ICMPType: 8}, false},
		{"icmp6 unreachable", ipv6(58, "fd00::1", "fd00::2", []byte{1, 4}), Packet{Proto: 58, Src: a6, Dst: b6, ICMP: true, ICMPType: 1, ICMPCode: 4}, false},
		{"truncated ports", ipv4(6, "198.18.0.1", "198.18.0.2", []byte{1}), Packet{Proto: 6, Src: a4, Dst: b4}, false},
		{"empty", nil, Packet{}, true},
		{"short v4", []byte{0x45, 0, 0}, Packet{}, true},
		{"short v6", []byte{0x60, 0}, Packet{}, true},
		{"not IP", []byte{0x10, 0, 0, 0}, Packet{}, true},
	} {
		got, err := ParsePacket(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want error %v", tc.name, err, tc.wantErr)
			continue
		}
		if err == nil {
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, d)
			}
		}
	}
}

func FuzzParsePacket(f *testing.F) {
	f.Add(ipv4(6, "198.18.0.1", "198.18.0.2", ports(1, 2)))
	f.Add(ipv6(58, "fd00::1", "fd00::2", []byte{128, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePacket(b) // must not panic
	})
}

func rec(dir, src, dst, endpoint, verdict, policy string) Record {
	return Record{Direction: dir, Src: src, Dst: dst, Endpoint: endpoint, Verdict: verdict, Policy: policy}
}

func TestFilter(t *testing.T) {
	in := rec("ingress", "198.19.0.254", "198.18.1.10", "WorkloadEndpoint app/web", VerdictDenied, "NetworkPolicy app/web-guard")
	out := rec("egress", "198.18.1.10", "198.19.0.254", "WorkloadEndpoint app/web", VerdictAllowed, "Profile kns.app")
	for _, tc := range []struct {
		f       Filter
		in, out bool
	}{
		{Filter{}, true, true},
		{Filter{Verdict: VerdictDenied}, true, false},
		{Filter{From: "198.19.0.254"}, true, false},
		{Filter{From: "198.18.0.0/16"}, false, true},
		{Filter{To: "app/web"}, true, false},
		{Filter{From: "app/web"}, false, true},
		{Filter{To: "app/db"}, false, false},
		{Filter{Policy: "web-guard"}, true, false},
		{Filter{Policy: "kns.app"}, false, true},
	} {
		if got := tc.f.Match(in); got != tc.in {
			t.Errorf("%+v on the ingress record: %v, want %v", tc.f, got, tc.in)
		}
		if got := tc.f.Match(out); got != tc.out {
			t.Errorf("%+v on the egress record: %v, want %v", tc.f, got, tc.out)
		}
	}
	if _, err := ParseFilter("dropped", "", "", ""); err == nil {
		t.Error("ParseFilter accepted verdict dropped")
	}
}

func TestHub(t *testing.T) {
	h := NewHub(3)
	ch, stop := h.Follow()
	defer stop()
	for i := 0; i < 5; i++ {
		h.Add(Record{SrcPort: uint16(i), Verdict: []string{VerdictAllowed, VerdictDenied}[i%2]})
	}
	var got []uint16
	for _, r := range h.Recent(Filter{}, 0) {
		got = append(got, r.SrcPort)
	}
	if d := cmp.Diff([]uint16{2, 3, 4}, got); d != "" {
		t.Errorf("recent (-want +got):\n%s", d)
	}
	if r := h.Recent(Filter{Verdict: VerdictDenied}, 1); len(r) != 1 || r[0].SrcPort != 3 {
		t.Errorf("last denied = %+v", r)
	}
	for i := 0; i < 5; i++ {
		select {
		case r := <-ch:
			if r.SrcPort != uint16(i) {
				t.Fatalf("followed %d, want %d", r.SrcPort, i)
			}
		case <-time.After(time.Second):
			t.Fatal("follower got nothing")
		}
	}
}

func TestRecordText(t *testing.T) {
	key := render.CounterKey{Kind: render.CountRule, Direction: "ingress", Tier: "default", Policy: "NetworkPolicy app/web-guard", Rule: 0, Action: "Deny"}
	p := Packet{Proto: 6, Src: netip.MustParseAddr("198.19.0.254"), Dst: netip.MustParseAddr("198.18.1.10"), SrcPort: 40312, DstPort: 8080}
	r := NewRecord(time.Date(2026, 12, 7, 1, 2, 3, 120e6, time.Local), "n1", p, key, "cnt-x")
	r.Endpoint = "WorkloadEndpoint app/web"
	want := "Dec  7 01:02:03.120 n1: 198.19.0.254:40312 -> 198.18.1.10:8080 tcp DENIED at WorkloadEndpoint app/web (ingress NetworkPolicy app/web-guard rule 0 (tier default): Deny)"
	if got := r.Text(); got != want {
		t.Errorf("Text:\n got %s\nwant %s", got, want)
	}
	if r.Verdict != VerdictDenied || r.Rule == nil || *r.Rule != 0 {
		t.Errorf("record %+v", r)
	}
}

func TestEndpointOf(t *testing.T) {
	eps := map[string]string{"caliweb": "WorkloadEndpoint app/web", "eth0": "HostEndpoint n1-eth0"}
	for _, tc := range []struct {
		dir, in, out, want string
	}{
		{"ingress", "eth0", "caliweb", "WorkloadEndpoint app/web"},
		{"ingress", "eth0", "", "HostEndpoint n1-eth0"},
		{"egress", "caliweb", "eth0", "WorkloadEndpoint app/web"},
		{"egress", "", "eth0", "HostEndpoint n1-eth0"},
		{"egress", "", "lo", ""},
	} {
		if got := endpointOf(eps, Record{Direction: tc.dir, InInterface: tc.in, OutInterface: tc.out}); got != tc.want {
			t.Errorf("%s in %q out %q: %q, want %q", tc.dir, tc.in, tc.out, got, tc.want)
		}
	}
}
