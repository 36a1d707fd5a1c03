package gc_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/integration/internal/simstack"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// env is a tikvsim cluster with the client stack and a GC client on top.
type env struct {
	t      *testing.T
	sim    *tikvsim.Cluster
	pd     *pdclient.Client
	router *locate.Router
	tso    *tso.Client
	gc     *gc.Client
	codec  *keycodec.Codec // user keys <-> wire keys
}

func startEnv(t *testing.T, splits []string, opts ...gc.Option) *env {
	t.Helper()
	var sk [][]byte
	for _, s := range splits {
		sk = append(sk, tikvsim.EncodeKey([]byte(s)))
	}
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{Stores: 3, SplitKeys: sk})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return attach(t, sim, opts...)
}

// attach builds a client stack and a GC client over sim.
func attach(t *testing.T, sim *tikvsim.Cluster, opts ...gc.Option) *env {
	t.Helper()
	codec, _ := keycodec.NewV1(keycodec.Txn)
	return attachCodec(t, sim, codec, opts...)
}

// attachCodec is attach with the key codec of the resolver, the helpers'
// requests and (prepended to opts) the GC client.
func attachCodec(t *testing.T, sim *tikvsim.Cluster, codec *keycodec.Codec, opts ...gc.Option) *env {
	t.Helper()
	s := simstack.Attach(t, sim)
	pd, snd, tc := s.PD, s.Sender, s.TSO
	tp, err := twopc.New(snd, tc, twopc.WithCodec(codec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Close() })
	g, err := gc.New(pd, snd, s.RPC, tp.Resolver(), append([]gc.Option{gc.WithCodec(codec)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sim: sim, pd: pd, router: locate.NewRouter(snd, codec), tso: tc, gc: g, codec: codec}
}

func (e *env) now() tso.Timestamp {
	e.t.Helper()
	ts, err := e.tso.GetTS(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

func (e *env) send(key []byte, req *kvrpc.Request) *kvrpc.Response {
	e.t.Helper()
	resp, err := e.router.SendKey(e.t.Context(), retry.New(20*time.Second), key, req)
	if err != nil {
		e.t.Fatalf("send %s: %v", req.Type(), err)
	}
	return resp
}

// lock leaves an abandoned lock on key: a prewrite whose transaction
// started at startTS with a 1 ms TTL and never commits (its client
// "crashed"); startTS is old enough for the lock to have expired.
func (e *env) lock(key string, startTS tso.Timestamp) {
	e.t.Helper()
	e.lockTTL(key, startTS, 1)
}

// lockTTL leaves a lock of a transaction that started at startTS, alive
// for ttlMS milliseconds from startTS's physical time.
func (e *env) lockTTL(key string, startTS tso.Timestamp, ttlMS uint64) {
	e.t.Helper()
	w := e.codec.EncodeKey([]byte(key))
	resp := e.send(w, kvrpc.NewPrewrite(&kvrpcpb.PrewriteRequest{
		Context:      e.codec.Context(),
		Mutations:    []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: w, Value: []byte("v")}},
		PrimaryLock:  w,
		StartVersion: uint64(startTS),
		LockTtl:      ttlMS,
	}))
	if errs := resp.Message().(*kvrpcpb.PrewriteResponse).GetErrors(); len(errs) > 0 {
		e.t.Fatalf("prewrite %q: %v", key, errs)
	}
}

// put commits key=value as a one-key transaction and returns its commit ts.
func (e *env) put(key, value string) tso.Timestamp {
	e.t.Helper()
	start := e.now()
	w := e.codec.EncodeKey([]byte(key))
	resp := e.send(w, kvrpc.NewPrewrite(&kvrpcpb.PrewriteRequest{
		Context:      e.codec.Context(),
		Mutations:    []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: w, Value: []byte(value)}},
		PrimaryLock:  w,
		StartVersion: uint64(start),
		LockTtl:      3000,
	}))
	if errs := resp.Message().(*kvrpcpb.PrewriteResponse).GetErrors(); len(errs) > 0 {
		e.t.Fatalf("prewrite %q: %v", key, errs)
	}
	commit := e.now()
	resp = e.send(w, kvrpc.NewCommit(&kvrpcpb.CommitRequest{Context: e.codec.Context(), Keys: [][]byte{w}, StartVersion: uint64(start), CommitVersion: uint64(commit)}))
	if ke := resp.Message().(*kvrpcpb.CommitResponse).GetError(); ke != nil {
		e.t.Fatalf("commit %q: %v", key, ke)
	}
	return commit
}

// locks returns the (user) keys of every lock at or below maxTS in the
// codec's key space.
func (e *env) locks(maxTS tso.Timestamp) []string {
	e.t.Helper()
	var out []string
	ws, we := e.codec.EncodeRange(nil, nil)
	err := e.router.WalkRange(e.t.Context(), retry.New(20*time.Second), ws, we, func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
		resp, err := e.router.SendKey(ctx, bo, s.Start, kvrpc.NewScanLock(&kvrpcpb.ScanLockRequest{Context: e.codec.Context(), MaxVersion: uint64(maxTS), StartKey: s.Start, EndKey: s.End}))
		if err != nil {
			return false, err
		}
		for _, l := range resp.Message().(*kvrpcpb.ScanLockResponse).GetLocks() {
			k, err := e.codec.DecodeKey(l.GetKey())
			if err != nil {
				return false, err
			}
			out = append(out, string(k))
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// keys returns the (user) keys visible at a fresh ts in [start, end).
func (e *env) keys(start, end string) []string {
	e.t.Helper()
	ts := e.now()
	var out []string
	ws, we := e.codec.EncodeRange([]byte(start), []byte(end))
	err := e.router.WalkRange(e.t.Context(), retry.New(20*time.Second), ws, we, func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
		end := s.End
		if re := s.Location.EndKey; len(re) > 0 && len(end) > 0 && bytes.Compare(tikvsim.EncodeKey(end), re) > 0 {
			// The region ends at a boundary no transactional key encodes
			// to (a raw split key): KvScan refuses an end past the region,
			// while an empty end scans to the region's end.
			end = nil
		}
		resp, err := e.router.SendKey(ctx, bo, s.Start, kvrpc.NewScan(&kvrpcpb.ScanRequest{Context: e.codec.Context(), StartKey: s.Start, EndKey: end, Version: uint64(ts), Limit: 10000}))
		if err != nil {
			return false, err
		}
		r := resp.Message().(*kvrpcpb.ScanResponse)
		if r.GetError() != nil {
			return false, fmt.Errorf("scan: %v", r.GetError())
		}
		for _, p := range r.GetPairs() {
			if p.GetError() != nil {
				return false, fmt.Errorf("scan pair: %v", p.GetError())
			}
			k, err := e.codec.DecodeKey(p.GetKey())
			if err != nil {
				return false, err
			}
			out = append(out, string(k))
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// leaderElsewhere moves the leader of the region holding key to another
// store.
func (e *env) leaderElsewhere(key string) error {
	r, err := e.sim.RegionByKey(tikvsim.EncodeKey([]byte(key)))
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
