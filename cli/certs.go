package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisade-net/palisade/pki"
	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
)

func init() { register(newCerts) }

// certValidity is how long issued certificates last (825 days, the
// longest most TLS clients accept).
const certValidity = 825 * 24 * time.Hour

func newCerts(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "certs",
		Short: "Issue the certificates of a multi-node datastore (CA, server, admin, nodes)",
		Long: "A multi-node palisade serves its datastore with TLS and authenticates every client by its\n" +
			"certificate: the server and the command line as the administrator, each agent as its node\n" +
			"(read access to policy, write access to its own Node only). `certs init` makes the CA and\n" +
			"the server's and administrator's certificates; `certs node NAME` makes a node's and\n" +
			"authorizes it in the datastore.",
	}
	c.AddCommand(newCertsInit(s), newCertsNode(s))
	return c
}

func newCertsInit(s *streams) *cobra.Command {
	var dir, hosts string
	c := &cobra.Command{
		Use:   "init --dir DIR --hosts NAME,IP,...",
		Short: "Make a CA, the server's certificate and the administrator's",
		Long: "init writes, in --dir: ca.pem and ca-key.pem (keep the key safe), server.pem and\n" +
			"server-key.pem (for --cert-file/--key-file and --peer-cert-file/--peer-key-file, valid for\n" +
			"--hosts, 127.0.0.1 and localhost), and admin.pem and admin-key.pem (for the command line:\n" +
			"ETCD_CERT_FILE and ETCD_KEY_FILE). Existing files are never overwritten.",
		Example: "  palisade certs init --dir /etc/palisade/pki --hosts 10.0.0.5,etcd1.example\n" +
			"  palisade server --listen 10.0.0.5:2379 --peer-listen 10.0.0.5:2380 \\\n" +
			"    --cert-file /etc/palisade/pki/server.pem --key-file /etc/palisade/pki/server-key.pem \\\n" +
			"    --trusted-ca-file /etc/palisade/pki/ca.pem --client-cert-auth ...",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if dir == "" {
				return fmt.Errorf("--dir is required")
			}
			ca, err := pki.NewCA("palisade CA", 10*certValidity)
			if err != nil {
				return err
			}
			cp, kp, err := ca.PEM()
			if err != nil {
				return err
			}
			if _, _, err := pki.WritePair(dir, "ca", cp, kp); err != nil {
				return err
			}
			names := []string{"127.0.0.1", "::1", "localhost"}
			for _, h := range strings.Split(hosts, ",") {
				if h = strings.TrimSpace(h); h != "" {
					names = append(names, h)
				}
			}
			for _, x := range []struct {
				base string
				u    pki.Usage
			}{{"server", pki.Usage{Server: true, Client: true, Hosts: names}}, {"admin", pki.Usage{Client: true}}} {
				cert, key, err := ca.Issue(store.AdminUser, x.u, certValidity)
				if err != nil {
					return err
				}
				if _, _, err := pki.WritePair(dir, x.base, cert, key); err != nil {
					return err
				}
			}
			fmt.Fprintf(s.out, "wrote %s: ca.pem, ca-key.pem, server.pem, server-key.pem (hosts %s), admin.pem, admin-key.pem\n",
				dir, strings.Join(names, ","))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory to write the files to")
	c.Flags().StringVar(&hosts, "hosts", "", "comma-separated names and addresses the server is reached by")
	return c
}

func newCertsNode(s *streams) *cobra.Command {
	var dir string
	var noAuthorize bool
	var ds datastoreOpts
	c := &cobra.Command{
		Use:   "node NAME --dir DIR",
		Short: "Make a node's agent certificate and authorize the node in the datastore",
		Long: "node signs node-NAME.pem and node-NAME-key.pem in --dir with the CA there (the agent's\n" +
			"ETCD_CERT_FILE and ETCD_KEY_FILE; give it ca.pem as ETCD_CA_CERT_FILE), then, unless\n" +
			"--no-authorize, creates the node's etcd user: read access to everything palisade stores,\n" +
			"write access to its own Node only. The datastore is reached as for every command\n" +
			"(--etcd-endpoints, ETCD_* variables or the config file) with the administrator's certificate.",
		Example: "  ETCD_ENDPOINTS=https://10.0.0.5:2379 ETCD_CA_CERT_FILE=pki/ca.pem ETCD_CERT_FILE=pki/admin.pem \\\n" +
			"  ETCD_KEY_FILE=pki/admin-key.pem palisade certs node node1 --dir pki",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			node := args[0]
			if dir == "" {
				return fmt.Errorf("--dir is required")
			}
			ca, err := pki.LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
			if err != nil {
				return err
			}
			cf := filepath.Join(dir, "node-"+node+".pem")
			if _, err := os.Stat(cf); err == nil {
				fmt.Fprintf(s.out, "keeping the existing %s\n", cf)
			} else {
				cert, key, err := ca.Issue(store.NodeUser(node), pki.Usage{Client: true}, certValidity)
				if err != nil {
					return err
				}
				cf, kf, err := pki.WritePair(dir, "node-"+node, cert, key)
				if err != nil {
					return err
				}
				fmt.Fprintf(s.out, "wrote %s and %s (etcd user %s)\n", cf, kf, store.NodeUser(node))
			}
			if noAuthorize {
				return nil
			}
			return authorizeNode(s, &ds, node)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory holding ca.pem and ca-key.pem, where the node's files are written")
	c.Flags().BoolVar(&noAuthorize, "no-authorize", false, "only issue the certificate; do not create the node's etcd user")
	addDatastoreFlags(c, &ds)
	return c
}

// authorizer is what authorizing a node needs of the store.
type authorizer interface {
	AuthorizeNode(ctx context.Context, node string) error
}

func authorizeNode(s *streams, ds *datastoreOpts, node string) error {
	cfg, err := resolveDatastore(ds)
	if err != nil {
		return err
	}
	st, err := newStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	a, ok := st.(authorizer)
	if !ok {
		return fmt.Errorf("this datastore cannot authorize nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := a.AuthorizeNode(ctx, node); err != nil {
		return fmt.Errorf("authorizing node %s (run `palisade certs node %s --dir ... ` again when the datastore "+
			"is reachable, or pass --no-authorize): %w", node, node, err)
	}
	fmt.Fprintf(s.out, "authorized node %s: it may read policy and write its own Node\n", node)
	return nil
}
