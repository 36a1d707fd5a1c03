package gcetcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/tikvgo/tikvgo/retry"
)

// UnifiedKey is the etcd key of the txn safe point shared by the whole
// cluster (and by keyspaces under unified GC).
const UnifiedKey = "/tidb/store/gcworker/saved_safe_point"

// KeyspaceKey returns the etcd key of the txn safe point of a keyspace that
// runs keyspace-level GC.
func KeyspaceKey(keyspaceID uint32) string {
	return "/keyspaces/tidb/" + strconv.FormatUint(uint64(keyspaceID), 10) + "/tidb/store/gcworker/saved_safe_point"
}

// KeyspaceLevelGC reports whether a keyspace with the given PD keyspace
// config runs its own GC (and so keeps its txn safe point under
// [KeyspaceKey]): PD marks it with gc_management_type "keyspace_level", and
// older deployments with safe_point_version "v2".
func KeyspaceLevelGC(config map[string]string) bool {
	return config["gc_management_type"] == "keyspace_level" || config["safe_point_version"] == "v2"
}

// ErrMalformedSafePoint is wrapped by the error of [Loader.TxnSafePoint] when
// the stored value is not a decimal uint64.
var ErrMalformedSafePoint = errors.New("gcetcd: malformed safe point")

// ErrInvalidOption is wrapped by the error [New] returns for a bad argument
// or option; it is retry's shared value.
var ErrInvalidOption = retry.ErrInvalidOption

type config struct {
	key string
}

// Option configures a [Loader]. Options are sealed: build them with the
// With* functions of this package.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithKeyspaceLevelGC makes the loader read the safe point of keyspace id
// (at [KeyspaceKey]) instead of the cluster's. Use it only for a keyspace
// for which [KeyspaceLevelGC] holds. Default: the cluster's, [UnifiedKey].
func WithKeyspaceLevelGC(id uint32) Option {
	return optionFunc(func(c *config) { c.key = KeyspaceKey(id) })
}

// Loader reads the txn safe point from PD's etcd. It is safe for concurrent
// use.
type Loader struct {
	kv  clientv3.KV
	key string
}

// New returns a loader reading through kv (usually a *clientv3.Client
// connected to the PD endpoints). It does no I/O.
func New(kv clientv3.KV, opts ...Option) (*Loader, error) {
	if kv == nil {
		return nil, fmt.Errorf("gcetcd: %w: nil etcd KV", ErrInvalidOption)
	}
	cfg := config{key: UnifiedKey}
	for _, o := range opts {
		o.apply(&cfg)
	}
	return &Loader{kv: kv, key: cfg.key}, nil
}

// Key returns the etcd key the loader reads.
func (l *Loader) Key() string { return l.key }

// TxnSafePoint returns the current txn safe point: 0 while none is stored
// (no GC round has run), as TiDB and client-go read it. Reads below it may
// meet data that GC already removed.
func (l *Loader) TxnSafePoint(ctx context.Context) (uint64, error) {
	resp, err := l.kv.Get(ctx, l.key)
	if err != nil {
		return 0, fmt.Errorf("gcetcd: get %s: %w", l.key, err)
	}
	if len(resp.Kvs) == 0 || len(resp.Kvs[0].Value) == 0 {
		return 0, nil
	}
	v, err := strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q at %s", ErrMalformedSafePoint, resp.Kvs[0].Value, l.key)
	}
	return v, nil
}
