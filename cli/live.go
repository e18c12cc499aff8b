package cli

import (
	"fmt"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// liveObjects reads every object of every kind from the datastore, for
// explain and matrix without -f. The datastore is chosen by the
// environment and the default config file (docs/api.md §8.1).
func liveObjects(ds *datastoreOpts) ([]api.Object, error) {
	ss, err := openSession(ds)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	var out []api.Object
	for _, k := range store.AllKinds() {
		objs, _, err := ss.list(k, "")
		if err != nil {
			if store.IsUnavailable(err) {
				return nil, fmt.Errorf("no -f given, and the datastore could not be read: %v\n"+
					"(explain and matrix find it through $ETCD_ENDPOINTS or the config file %s; "+
					"is `palisade server` running?)", err, DefaultConfigPath)
			}
			return nil, fmt.Errorf("reading %s from the datastore: %w", kindName(k), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}
