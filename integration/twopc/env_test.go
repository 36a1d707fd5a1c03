package twopc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/integration/internal/simstack"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// env is a tikvsim cluster with the client stack and a twopc client on top.
type env struct {
	t     testing.TB
	sim   *tikvsim.Cluster
	cache *locate.Cache
	snd   *locate.Sender
	ts    twopc.TimestampSource
	tso   *tso.Client
	cli   *twopc.Client
	codec *keycodec.Codec
}

// fakeClock is a timestamp source whose physical time only moves when the
// test says so; every call still returns a larger timestamp.
type fakeClock struct {
	mu       sync.Mutex
	physical int64
	logical  int64
}

func newFakeClock() *fakeClock {
	return &fakeClock{physical: time.Now().UnixMilli()}
}

func (f *fakeClock) GetTS(context.Context) (tso.Timestamp, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logical++
	return tso.Compose(f.physical, f.logical), nil
}

// Advance moves the physical clock by d.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.physical += d.Milliseconds()
	f.logical = 0
	f.mu.Unlock()
}

type envConfig struct {
	// keyspace, when set, runs the cluster under API V2 with this keyspace
	// (id 1), and the client with its codec; keys are then wire keys.
	keyspace string
	splits   []string
	clock    twopc.TimestampSource // nil: the cluster's TSO
	opts     []twopc.Option
}

func startEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	var splits [][]byte
	for _, s := range cfg.splits {
		splits = append(splits, tikvsim.EncodeKey([]byte(s)))
	}
	simOpts := tikvsim.Options{Stores: 3, SplitKeys: splits}
	codec, _ := keycodec.NewV1(keycodec.Txn)
	if cfg.keyspace != "" {
		simOpts.APIVersion, simOpts.Keyspaces = kvrpcpb.APIVersion_V2, []string{cfg.keyspace}
		var err error
		if codec, err = keycodec.NewV2(keycodec.Txn, 1); err != nil {
			t.Fatal(err)
		}
		cfg.opts = append([]twopc.Option{twopc.WithCodec(codec)}, cfg.opts...)
	}
	s := simstack.Start(t, simOpts)
	e := &env{t: t, sim: s.Sim, cache: s.Cache, snd: s.Sender, codec: codec, tso: s.TSO, ts: s.TSO}
	if cfg.clock != nil {
		e.ts = cfg.clock
	}
	e.cli = e.newClient(cfg.opts...)
	return e
}

// newClient returns another twopc client over the same stack (another
// process's view, for crash tests); it is closed at cleanup.
func (e *env) newClient(opts ...twopc.Option) *twopc.Client {
	e.t.Helper()
	c, err := twopc.New(e.snd, e.ts, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e *env) now(ctx context.Context) tso.Timestamp {
	e.t.Helper()
	ts, err := e.ts.GetTS(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

// count counts the requests of cmd the stores receive from now on.
func (e *env) count(cmd string) *atomic.Int64 {
	var n atomic.Int64
	remove := e.sim.OnRequest(func(_ uint64, c string) {
		if c == cmd {
			n.Add(1)
		}
	})
	e.t.Cleanup(remove)
	return &n
}

// send sends one request for key, locating again on stale regions.
func (e *env) send(ctx context.Context, key []byte, build func() *kvrpc.Request) (*kvrpc.Response, error) {
	bo := retry.New(20 * time.Second)
	for {
		loc, err := e.cache.LocateKey(ctx, e.codec.RegionKey(key))
		if err != nil {
			return nil, err
		}
		resp, err := e.snd.Send(ctx, bo, build(), loc.Region)
		if errors.Is(err, locate.ErrRegionStale) {
			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
				return nil, err
			}
			continue
		}
		return resp, err
	}
}

// get reads key at readTS as a snapshot reader would: a lock is handed to
// cli's resolver, and the read retried with the locks it may ignore or read
// through.
func (e *env) get(ctx context.Context, cli *twopc.Client, key string, readTS tso.Timestamp) (string, bool, error) {
	bo := retry.New(20 * time.Second)
	var resolved, committed []uint64
	for {
		resp, err := e.send(ctx, []byte(key), func() *kvrpc.Request {
			rc := e.codec.Context()
			rc.ResolvedLocks, rc.CommittedLocks = resolved, committed
			return kvrpc.NewGet(&kvrpcpb.GetRequest{
				Context: rc,
				Key:     []byte(key), Version: uint64(readTS),
			})
		})
		if err != nil {
			return "", false, err
		}
		m := resp.Message().(*kvrpcpb.GetResponse)
		if ke := m.GetError(); ke != nil {
			if ke.GetLocked() == nil {
				return "", false, fmt.Errorf("get %q: %v", key, ke)
			}
			res, err := cli.Resolver().ResolveLocksForRead(ctx, bo, readTS, []*twopc.Lock{twopc.NewLock(ke.GetLocked())})
			if err != nil {
				return "", false, err
			}
			for _, ts := range res.Resolved {
				resolved = append(resolved, uint64(ts))
			}
			for _, ts := range res.Committed {
				committed = append(committed, uint64(ts))
			}
			if res.Wait > 0 {
				if err := bo.BackoffAtMost(ctx, retry.TxnLockFast, res.Wait, errors.New("locked")); err != nil {
					return "", false, err
				}
			}
			continue
		}
		if m.GetNotFound() {
			return "", false, nil
		}
		return string(m.GetValue()), true, nil
	}
}

// mustGet reads key at a fresh ts through e.cli.
func (e *env) mustGet(ctx context.Context, key string) (string, bool) {
	e.t.Helper()
	v, ok, err := e.get(ctx, e.cli, key, e.now(ctx))
	if err != nil {
		e.t.Fatalf("get %q: %v", key, err)
	}
	return v, ok
}

// puts builds n puts key-%03d = val-%03d.
func puts(prefix string, n int) twopc.MutationSlice {
	m := make(twopc.MutationSlice, n)
	for i := range n {
		m[i] = twopc.Mutation{Op: twopc.OpPut, Key: fmt.Appendf(nil, "%s%03d", prefix, i), Value: fmt.Appendf(nil, "val-%s%03d", prefix, i)}
	}
	return m
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkAll asserts every mutation of m is visible (want) or absent.
func (e *env) checkAll(ctx context.Context, m twopc.MutationSlice, want bool) {
	e.t.Helper()
	for _, x := range m {
		v, ok := e.mustGet(ctx, string(x.Key))
		if ok != want || (want && v != string(x.Value)) {
			e.t.Fatalf("key %q: got %q found=%v, want found=%v", x.Key, v, ok, want)
		}
	}
}

// twopcHoldCommit parks every KvCommit until hold is closed.
func twopcHoldCommit(hold <-chan struct{}) tikvsim.Fault {
	return tikvsim.Fault{Command: "KvCommit", Hold: hold}
}

// parkOnce parks the next cmd request at the store; the returned function
// waits for it to arrive, runs change while it is parked, and releases it.
func (e *env) parkOnce(cmd string) func(change func() error) {
	hold := make(chan struct{})
	remove := e.sim.InjectFault(tikvsim.Fault{Command: cmd, Count: 1, Hold: hold})
	arrived := make(chan struct{}, 1)
	unhook := e.sim.OnRequest(func(_ uint64, c string) {
		if c == cmd {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	return func(change func() error) {
		e.t.Helper()
		<-arrived
		unhook()
		err := change()
		close(hold)
		remove()
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// moveLeader moves the leadership of the region holding key to another
// peer.
func (e *env) moveLeader(key []byte) error {
	r, err := e.sim.RegionByKey(tikvsim.EncodeKey(key))
	if err != nil {
		return err
	}
	for _, p := range r.Peers {
		if p.StoreID != r.Leader {
			return e.sim.TransferLeader(r.ID, p.StoreID)
		}
	}
	return fmt.Errorf("region %d has one peer", r.ID)
}
