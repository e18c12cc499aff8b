package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/spf13/cobra"
)

type matrixOpts struct {
	files     []string
	recursive bool
	ports     string
	external  string
	output    string
	staged    bool
	ds        datastoreOpts
}

func newMatrix(s *streams) *cobra.Command {
	o := &matrixOpts{}
	c := &cobra.Command{
		Use:   "matrix -f FILENAME --ports 80/TCP,53/UDP [--external IP,...]",
		Short: "Print the connectivity matrix of every pod pair on every port",
		Long: "matrix judges every ordered pair of distinct pods, plus each external IP as the source\n" +
			"and as the destination of every pod, on every port. The default output is a grid per\n" +
			"port ('.' allowed, 'X' denied); -o tsv prints one line per flow: SRC DST PROTO/PORT verdict.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMatrix(s, o) },
	}
	addFileFlags(c, &o.files, &o.recursive)
	c.Flags().StringVar(&o.ports, "ports", "", "comma-separated PORT/PROTO list, e.g. 80/TCP,53/UDP")
	c.Flags().StringVar(&o.external, "external", "", "comma-separated IP addresses outside the cluster to include")
	c.Flags().StringVarP(&o.output, "output", "o", "grid", "output format: grid or tsv; with --staged, tsv or diff")
	c.Flags().BoolVar(&o.staged, "staged", false, "also judge every flow as if the staged policies were enforced\n"+
		"(-o tsv adds that verdict; -o diff lists only the flows it changes)")
	addDatastoreFlags(c, &o.ds)
	return c
}

type matrixCell struct {
	src, dst policy.Peer
	port     string
	allowed  bool
	staged   bool // the verdict with the staged policies enforced (--staged)
	err      error
}

func runMatrix(s *streams, o *matrixOpts) error {
	switch {
	case o.staged && o.output == "grid":
		o.output = "diff"
	case o.output == "diff" && !o.staged:
		return fmt.Errorf("-o diff needs --staged")
	case o.output != "grid" && o.output != "tsv" && o.output != "diff":
		return fmt.Errorf("unrecognized output format '%s' (want grid, tsv or diff)", o.output)
	}
	ports := splitList(o.ports)
	if len(ports) == 0 {
		return fmt.Errorf("matrix needs --ports, e.g. --ports 80/TCP,53/UDP")
	}
	for _, p := range ports {
		if _, _, err := policy.ParsePortProto(p); err != nil {
			return fmt.Errorf("--ports: %w", err)
		}
	}
	m, docs, err := buildModelDocs(s, o.files, o.recursive, &o.ds)
	if err != nil {
		return err
	}
	var ext []policy.Peer
	for _, e := range splitList(o.external) {
		a, err := netip.ParseAddr(e)
		if err != nil {
			return fmt.Errorf("--external: %q is not an IP address", e)
		}
		ext = append(ext, policy.Peer{Kind: policy.PeerExternal, IP: a.Unmap()})
	}
	pods := m.Pods()
	cells := matrixCells(pods, ext, ports)
	judgeAll(m, cells, false)
	if o.staged {
		ms, err := stagedModel(docs)
		if err != nil {
			return err
		}
		judgeAll(ms, cells, true)
	}
	for _, c := range cells {
		if c.err != nil {
			return fmt.Errorf("%s -> %s %s: %w", c.src, c.dst, c.port, c.err)
		}
	}
	switch o.output {
	case "tsv":
		printTSV(s.out, cells, o.staged)
		return nil
	case "diff":
		printDiff(s.out, cells)
		return nil
	}
	printGrids(s.out, pods, ext, ports, cells)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// matrixCells lists the flows in output order: for each port, every source
// (pods, then external addresses) to every destination.
func matrixCells(pods, ext []policy.Peer, ports []string) []*matrixCell {
	var out []*matrixCell
	for _, port := range ports {
		for _, src := range pods {
			for _, dst := range pods {
				if src.Workload != dst.Workload {
					out = append(out, &matrixCell{src: src, dst: dst, port: port})
				}
			}
			for _, dst := range ext {
				out = append(out, &matrixCell{src: src, dst: dst, port: port})
			}
		}
		for _, src := range ext {
			for _, dst := range pods {
				out = append(out, &matrixCell{src: src, dst: dst, port: port})
			}
		}
	}
	return out
}

// stagedModel is the model of the documents with every staged policy
// enforced (policy.StagedView).
func stagedModel(docs []api.Document) (*policy.Model, error) {
	ms, err := policy.NewModel(policy.StagedView(objects(docs)))
	var be *policy.BuildError
	if err != nil && !errors.As(err, &be) {
		return nil, fmt.Errorf("the staged policies: %w", err)
	}
	return ms, nil
}

// printDiff lists the flows the staged policies would change.
func printDiff(w io.Writer, cells []*matrixCell) {
	n := 0
	for _, c := range cells {
		if c.staged != c.allowed {
			n++
			fmt.Fprintf(w, "%s\t%s\t%s\t%s -> %s\n", c.src, c.dst, tsvPort(c.port), verdictWord(c.allowed), verdictWord(c.staged))
		}
	}
	fmt.Fprintf(w, "%d of %d flow(s) would change with the staged policies\n", n, len(cells))
}

// judgeAll evaluates the cells on every core (into staged with the staged
// model, whose peers are looked up again by name); the model is read-only.
func judgeAll(m *policy.Model, cells []*matrixCell, staged bool) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan *matrixCell, 256)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				src, dst := c.src, c.dst
				var err error
				if staged {
					if src, err = m.ResolvePeer(c.src.String()); err == nil {
						dst, err = m.ResolvePeer(c.dst.String())
					}
				}
				var f policy.Flow
				if err == nil {
					f, err = policy.NewFlow(src, dst, c.port)
				}
				allowed := false
				if err == nil {
					allowed, err = m.Allowed(f)
				}
				if staged {
					c.staged = allowed
				} else {
					c.allowed = allowed
				}
				if err != nil {
					c.err = err
				}
			}
		}()
	}
	for _, c := range cells {
		next <- c
	}
	close(next)
	wg.Wait()
}

func verdictWord(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// tsvPort turns "80/TCP" into "TCP/80".
func tsvPort(p string) string {
	n, proto, _ := strings.Cut(p, "/")
	return strings.ToUpper(proto) + "/" + n
}

func printTSV(w io.Writer, cells []*matrixCell, staged bool) {
	for _, c := range cells {
		if staged {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.src, c.dst, tsvPort(c.port), verdictWord(c.allowed), verdictWord(c.staged))
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.src, c.dst, tsvPort(c.port), verdictWord(c.allowed))
	}
}

func printGrids(w io.Writer, pods, ext []policy.Peer, ports []string, cells []*matrixCell) {
	peers := append(append([]policy.Peer(nil), pods...), ext...)
	index := map[string]int{}
	fmt.Fprintln(w, "Peers:")
	for i, p := range peers {
		index[p.String()] = i + 1
		fmt.Fprintf(w, "  %3d  %s\n", i+1, p)
	}
	byKey := map[string]bool{}
	for _, c := range cells {
		byKey[c.src.String()+"|"+c.dst.String()+"|"+c.port] = c.allowed
	}
	for _, port := range ports {
		fmt.Fprintf(w, "\n%s  (rows: from, columns: to; '.' allow, 'X' deny)\n", port)
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		header := []string{"from\\to"}
		for i := range peers {
			header = append(header, fmt.Sprint(i+1))
		}
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for i, src := range peers {
			row := []string{fmt.Sprint(i + 1)}
			for _, dst := range peers {
				allowed, ok := byKey[src.String()+"|"+dst.String()+"|"+port]
				switch {
				case !ok:
					row = append(row, "-")
				case allowed:
					row = append(row, ".")
				default:
					row = append(row, "X")
				}
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}
}
