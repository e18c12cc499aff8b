package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/authpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcd authentication. With client certificates, etcd takes a client's
// user name from its certificate's common name. Palisade's identities:
//
//   - AdminUser: the server and the command line; etcd's root role (every
//     key, and the users and roles themselves).
//   - NodeUser(name): one agent; reads everything under Prefix and writes
//     only its own Node.
const (
	AdminUser = "palisade-admin"
	// NodeRole is the read-only role every node user has.
	NodeRole = "palisade-node"
	rootUser = "root"
	rootRole = "root"
)

// NodeUser is the etcd user (and certificate common name) of a node's agent.
func NodeUser(node string) string { return "palisade-node:" + node }

// EnableAuth creates palisade's users and roles (admins are extra
// administrator user names) and turns etcd authentication on; it does
// nothing when authentication is already on.
// The caller must be allowed to (before authentication is on, anyone is).
func (e *Etcd) EnableAuth(ctx context.Context, admins ...string) error {
	st, err := e.cli.AuthStatus(ctx)
	if err != nil {
		return fmt.Errorf("etcd auth status: %w", err)
	}
	if st.Enabled {
		return nil
	}
	if err := e.ensureRootRole(ctx); err != nil {
		return err
	}
	users := append([]string{rootUser, AdminUser}, admins...)
	slices.Sort(users)
	for _, u := range slices.Compact(users) {
		if u == "" {
			continue
		}
		if err := e.ensureUser(ctx, u, rootRole); err != nil {
			return err
		}
	}
	if err := e.ensureRole(ctx, NodeRole, Prefix, clientv3.GetPrefixRangeEnd(Prefix), authpb.READ); err != nil {
		return err
	}
	if _, err := e.cli.AuthEnable(ctx); err != nil {
		return fmt.Errorf("enabling etcd auth: %w", err)
	}
	return nil
}

// AuthorizeNode creates (or confirms) the user of a node's agent: read
// access to everything under Prefix, write access to its own Node only.
func (e *Etcd) AuthorizeNode(ctx context.Context, node string) error {
	if err := checkKey(Key{Kind: "Node", Name: node}); err != nil {
		return err
	}
	user := NodeUser(node)
	own := Key{Kind: "Node", Name: node}.Path()
	if err := e.ensureRole(ctx, user, own, "", authpb.READWRITE); err != nil {
		return err
	}
	if err := e.ensureUser(ctx, user, NodeRole); err != nil {
		return err
	}
	if _, err := e.cli.UserGrantRole(ctx, user, user); err != nil {
		return fmt.Errorf("etcd: granting role %s to %s: %w", user, user, err)
	}
	return nil
}

// ensureUser adds a user without a password (it authenticates with its
// certificate) and grants it a role.
func (e *Etcd) ensureUser(ctx context.Context, user, role string) error {
	_, err := e.cli.UserAddWithOptions(ctx, user, "", &clientv3.UserAddOptions{NoPassword: true})
	if err != nil && !errors.Is(err, rpctypes.ErrUserAlreadyExist) {
		return fmt.Errorf("etcd: adding user %s: %w", user, err)
	}
	if _, err := e.cli.UserGrantRole(ctx, user, role); err != nil {
		return fmt.Errorf("etcd: granting role %s to %s: %w", role, user, err)
	}
	return nil
}

func (e *Etcd) ensureRootRole(ctx context.Context) error {
	if _, err := e.cli.RoleAdd(ctx, rootRole); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
		return fmt.Errorf("etcd: adding role root: %w", err)
	}
	return nil
}

// ensureRole adds a role with one permission.
func (e *Etcd) ensureRole(ctx context.Context, role, key, end string, perm authpb.Permission_Type) error {
	if _, err := e.cli.RoleAdd(ctx, role); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
		return fmt.Errorf("etcd: adding role %s: %w", role, err)
	}
	if _, err := e.cli.RoleGrantPermission(ctx, role, key, end, clientv3.PermissionType(perm)); err != nil {
		return fmt.Errorf("etcd: granting %s on %s to role %s: %w", perm, key, role, err)
	}
	return nil
}
