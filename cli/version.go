package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/version"
)

func init() { register(newVersionCmd) }

func newVersionCmd(s *streams) *cobra.Command {
	o := &datastoreOpts{}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the client's version and the servers' and agents' versions, warning on skew",
		Long: "version prints this binary's version, commit and build date, then, from the datastore, the version\n" +
			"each server recorded at start and the version each agent records in its Node, and a warning for\n" +
			"every one that differs from this client's. An unreachable datastore is reported, not an error.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runVersion(s, o) },
	}
	addDatastoreFlags(c, o)
	return c
}

func runVersion(s *streams, o *datastoreOpts) error {
	me := version.Get()
	fmt.Fprintf(s.out, "Client Version:    %s\nGit commit:        %s\nBuild date:        %s\n", me.Version, me.Commit, me.Date)
	cfg, err := resolveDatastore(o)
	if err != nil {
		return err
	}
	st, err := newStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	servers, err := serverVersions(ctx, st)
	if err != nil {
		fmt.Fprintf(s.out, "Cluster:           unable to retrieve the cluster's versions: %v\n", err)
		return nil
	}
	nodes, _, err := st.List(ctx, store.Kind(api.KindNode), "")
	if err != nil {
		fmt.Fprintf(s.out, "Cluster:           unable to retrieve the cluster's versions: %v\n", err)
		return nil
	}
	agents := map[string]string{}
	for _, n := range nodes {
		if v, ok := n.GetAnnotations()[version.AgentAnnotation]; ok {
			agents[n.GetName()] = v
		}
	}
	printVersions(s.out, me, servers, agents)
	return nil
}

// serverVersions reads what each server recorded.
func serverVersions(ctx context.Context, st store.Store) (map[string]version.Info, error) {
	e, ok := st.(interface{ Client() *clientv3.Client })
	if !ok {
		return map[string]version.Info{}, nil
	}
	resp, err := e.Client().Get(ctx, version.ServersPrefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := map[string]version.Info{}
	for _, kv := range resp.Kvs {
		var i version.Info
		if json.Unmarshal(kv.Value, &i) == nil {
			out[strings.TrimPrefix(string(kv.Key), version.ServersPrefix)] = i
		}
	}
	return out, nil
}

// printVersions prints the servers and agents (grouped by version) and a
// warning for each that is not the client's version.
func printVersions(w io.Writer, me version.Info, servers map[string]version.Info, agents map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		fmt.Fprintf(w, "Server %-11s %s\n", name+":", servers[name])
	}
	byVersion := map[string][]string{}
	for node, v := range agents {
		byVersion[v] = append(byVersion[v], node)
	}
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		nodes := byVersion[v]
		slices.Sort(nodes)
		fmt.Fprintf(w, "Agents:            %s on %d node(s): %s\n", v, len(nodes), strings.Join(nodes, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		if servers[name].Version != me.Version {
			fmt.Fprintf(w, "warning: server %s runs %s, this client is %s\n", name, servers[name].Version, me.Version)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		if got, _, _ := strings.Cut(v, " "); got != me.Version {
			fmt.Fprintf(w, "warning: %d agent(s) run %s, this client is %s: %s\n", len(byVersion[v]), got, me.Version,
				strings.Join(byVersion[v], ", "))
		}
	}
}
