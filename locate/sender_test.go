package locate_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// call is what the fake RPC client saw for one attempt.
type call struct {
	addr string
	ctx  kvrpcpb.Context
}

// fakeRPC answers attempts with a scripted function of the attempt number,
// target address and stamped context.
type fakeRPC struct {
	mu     sync.Mutex
	calls  []call
	closed []string
	answer func(n int, addr string, c *kvrpcpb.Context) (*errorpb.Error, error)
}

func (f *fakeRPC) Send(_ context.Context, addr string, req *kvrpc.Request) (*kvrpc.Response, error) {
	f.mu.Lock()
	n := len(f.calls)
	c := req.Context()
	f.calls = append(f.calls, call{addr: addr, ctx: kvrpcpb.Context{
		RegionId: c.RegionId, RegionEpoch: c.RegionEpoch, Peer: c.Peer, ReplicaRead: c.ReplicaRead,
		StaleRead: c.StaleRead, IsRetryRequest: c.IsRetryRequest, BusyThresholdMs: c.BusyThresholdMs}})
	f.mu.Unlock()
	re, err := f.answer(n, addr, c)
	if err != nil {
		return nil, err
	}
	return kvrpc.NewResponse(&kvrpcpb.RawGetResponse{RegionError: re, Value: []byte(addr)}), nil
}

func (f *fakeRPC) CloseAddr(addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, addr)
	return nil
}

func (f *fakeRPC) addrs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.addr)
	}
	return out
}

func (f *fakeRPC) last() call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

// script answers attempt i with errs[i] (nil = success); later attempts succeed.
func script(errs ...*errorpb.Error) func(int, string, *kvrpcpb.Context) (*errorpb.Error, error) {
	return func(n int, _ string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
		if n < len(errs) {
			return errs[n], nil
		}
		return nil, nil
	}
}

type senderEnv struct {
	pd    *fakePD
	cache *locate.Cache
	rpc   *fakeRPC
	snd   *locate.Sender
	ver   locate.VerID
}

func newSenderEnv(t *testing.T, answer func(int, string, *kvrpcpb.Context) (*errorpb.Error, error)) *senderEnv {
	t.Helper()
	pd := newFakePD("m")
	cache := newCache(t, pd)
	loc, err := cache.LocateKey(t.Context(), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	rpc := &fakeRPC{answer: answer}
	return &senderEnv{pd: pd, cache: cache, rpc: rpc, snd: locate.NewSender(cache, rpc), ver: loc.Region}
}

func (e *senderEnv) send(ctx context.Context, bo *retry.Backoffer, opts ...locate.SendOption) (*kvrpc.Response, error) {
	return e.snd.Send(ctx, bo, kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("a")}), e.ver, opts...)
}

func TestSenderLeaderReadStampsContext(t *testing.T) {
	t.Parallel()
	e := newSenderEnv(t, script())
	resp, err := e.send(t.Context(), retry.New(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.Message().(*kvrpcpb.RawGetResponse).Value); got != "store1" {
		t.Fatalf("served by %s, want the leader store1", got)
	}
	c := e.rpc.last().ctx
	if c.RegionId != 1 || c.RegionEpoch.GetVersion() != 1 || c.Peer.GetStoreId() != 1 || c.Peer.GetId() != 11 || c.ReplicaRead || c.IsRetryRequest {
		t.Fatalf("stamped context %+v", &c)
	}
}

func TestSenderNotLeader(t *testing.T) {
	t.Parallel()
	t.Run("with hint: retry the hinted leader without backoff", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script(&errorpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 1, Leader: &metapb.Peer{Id: 12, StoreId: 2}}}))
		bo := retry.New(time.Second)
		if _, err := e.send(t.Context(), bo); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(e.rpc.addrs()); got != "[store1 store2]" {
			t.Fatalf("attempts %s", got)
		}
		if bo.Slept() != 0 || !e.rpc.last().ctx.IsRetryRequest {
			t.Fatalf("slept %v, retry flag %v", bo.Slept(), e.rpc.last().ctx.IsRetryRequest)
		}
		r := e.cache.CachedRegion(e.ver)
		if l, _ := r.Leader(); l.StoreID != 2 {
			t.Fatalf("cached leader on store %d, want 2", l.StoreID)
		}
	})
	t.Run("without hint: back off and ask another peer", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			e := newSenderEnv(t, script(
				&errorpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 1}},
				&errorpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 1, Leader: &metapb.Peer{Id: 13, StoreId: 3}}}))
			bo := retry.New(time.Minute)
			if _, err := e.send(t.Context(), bo); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(e.rpc.addrs()); got != "[store1 store2 store3]" {
				t.Fatalf("attempts %s", got)
			}
			if bo.Attempts(retry.RegionScheduling) != 1 {
				t.Fatalf("regionScheduling backoffs = %d, want 1", bo.Attempts(retry.RegionScheduling))
			}
		})
	})
	t.Run("hint names an unknown peer: stale", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script(&errorpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 1, Leader: &metapb.Peer{Id: 99, StoreId: 9}}}))
		_, err := e.send(t.Context(), retry.New(time.Second))
		if !errors.Is(err, locate.ErrRegionStale) || !errors.Is(err, locate.ErrNotLeader) || !retry.IsRetryable(err) {
			t.Fatalf("err %v, want a retryable stale NotLeader", err)
		}
	})
}

func TestSenderStaleRegionErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		re   *errorpb.Error
		kind error
	}{
		"region not found":  {&errorpb.Error{RegionNotFound: &errorpb.RegionNotFound{RegionId: 1}}, locate.ErrRegionNotFoundOnStore},
		"key not in region": {&errorpb.Error{KeyNotInRegion: &errorpb.KeyNotInRegion{Key: []byte("z")}}, locate.ErrKeyNotInRegion},
		"mismatch peer id":  {&errorpb.Error{MismatchPeerId: &errorpb.MismatchPeerId{RequestPeerId: 11, StorePeerId: 14}}, locate.ErrMismatchPeerID},
		"epoch, no regions": {&errorpb.Error{EpochNotMatch: &errorpb.EpochNotMatch{}}, locate.ErrEpochNotMatch},
		"unknown (message)": {&errorpb.Error{Message: "TiKV is closing"}, locate.ErrUnknownRegionError},
		"bucket version":    {&errorpb.Error{BucketVersionNotMatch: &errorpb.BucketVersionNotMatch{Version: 3}}, locate.ErrBucketVersionNotMatch},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newSenderEnv(t, script(tc.re))
			_, err := e.send(t.Context(), retry.New(time.Second))
			var rerr *locate.RegionError
			if !errors.Is(err, locate.ErrRegionStale) || !errors.Is(err, tc.kind) || !errors.As(err, &rerr) || rerr.Region != e.ver {
				t.Fatalf("err %v, want stale %v for %v", err, tc.kind, e.ver)
			}
			if retry.KindOf(err) != retry.RegionMiss {
				t.Fatalf("backoff kind %v, want RegionMiss", retry.KindOf(err))
			}
			if tc.kind != locate.ErrBucketVersionNotMatch && e.cache.CachedRegion(e.ver) != nil {
				t.Fatal("region still valid in the cache")
			}
			if len(e.rpc.addrs()) != 1 {
				t.Fatalf("sender retried a stale region: %v", e.rpc.addrs())
			}
		})
	}
}

func TestSenderEpochNotMatch(t *testing.T) {
	t.Parallel()
	t.Run("split: cache takes the new regions, caller re-splits", func(t *testing.T) {
		t.Parallel()
		var e *senderEnv
		e = newSenderEnv(t, func(n int, _ string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
			if n > 0 {
				return nil, nil
			}
			l, r := e.pd.split("f")
			return &errorpb.Error{EpochNotMatch: &errorpb.EpochNotMatch{CurrentRegions: []*metapb.Region{l, r}}}, nil
		})
		_, err := e.send(t.Context(), retry.New(time.Second))
		if !errors.Is(err, locate.ErrEpochNotMatch) || !errors.Is(err, locate.ErrRegionStale) {
			t.Fatalf("err %v", err)
		}
		loc, ok := e.cache.TryLocateKey([]byte("g"))
		if !ok || string(loc.StartKey) != "f" || string(loc.EndKey) != "m" {
			t.Fatalf("new right half not cached: %v %v", loc, ok)
		}
	})
	t.Run("store behind: back off and retry", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			behind := &metapb.Region{Id: 1, EndKey: []byte("m"), RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 0}}
			e := newSenderEnv(t, script(&errorpb.Error{EpochNotMatch: &errorpb.EpochNotMatch{CurrentRegions: []*metapb.Region{behind}}}))
			bo := retry.New(time.Minute)
			if _, err := e.send(t.Context(), bo); err != nil {
				t.Fatal(err)
			}
			if bo.Attempts(retry.RegionMiss) != 1 || len(e.rpc.addrs()) != 2 {
				t.Fatalf("regionMiss backoffs %d, attempts %v", bo.Attempts(retry.RegionMiss), e.rpc.addrs())
			}
		})
	})
}

func TestSenderRetriesWithBackoffKind(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		re   *errorpb.Error
		kind *retry.Kind
	}{
		"stale command":          {&errorpb.Error{StaleCommand: &errorpb.StaleCommand{}}, retry.StaleCommand},
		"max ts not synced":      {&errorpb.Error{MaxTimestampNotSynced: &errorpb.MaxTimestampNotSynced{}}, retry.MaxTSNotSynced},
		"read index not ready":   {&errorpb.Error{ReadIndexNotReady: &errorpb.ReadIndexNotReady{RegionId: 1}}, retry.RegionScheduling},
		"proposal in merging":    {&errorpb.Error{ProposalInMergingMode: &errorpb.ProposalInMergingMode{RegionId: 1}}, retry.RegionScheduling},
		"disk full":              {&errorpb.Error{DiskFull: &errorpb.DiskFull{StoreId: []uint64{1}}}, retry.DiskFull},
		"recovery in progress":   {&errorpb.Error{RecoveryInProgress: &errorpb.RecoveryInProgress{RegionId: 1}}, retry.RegionRecoveryInProgress},
		"region not initialized": {&errorpb.Error{RegionNotInitialized: &errorpb.RegionNotInitialized{RegionId: 1}}, retry.RegionNotInitialized},
		"is witness":             {&errorpb.Error{IsWitness: &errorpb.IsWitness{RegionId: 1}}, retry.IsWitness},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := newSenderEnv(t, script(tc.re))
				bo := retry.New(time.Minute)
				if _, err := e.send(t.Context(), bo); err != nil {
					t.Fatal(err)
				}
				if bo.Attempts(tc.kind) != 1 || len(e.rpc.addrs()) != 2 {
					t.Fatalf("%s backoffs %d, attempts %v", tc.kind, bo.Attempts(tc.kind), e.rpc.addrs())
				}
			})
		})
	}
}

func TestSenderFailFast(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		re   *errorpb.Error
		kind error
	}{
		"flashback in progress":  {&errorpb.Error{FlashbackInProgress: &errorpb.FlashbackInProgress{RegionId: 1}}, locate.ErrFlashbackInProgress},
		"flashback not prepared": {&errorpb.Error{FlashbackNotPrepared: &errorpb.FlashbackNotPrepared{RegionId: 1}}, locate.ErrFlashbackNotPrepared},
		"raft entry too large":   {&errorpb.Error{RaftEntryTooLarge: &errorpb.RaftEntryTooLarge{RegionId: 1}}, locate.ErrRaftEntryTooLarge},
		"undetermined result":    {&errorpb.Error{UndeterminedResult: &errorpb.UndeterminedResult{}}, locate.ErrUndetermined},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newSenderEnv(t, script(tc.re))
			_, err := e.send(t.Context(), retry.New(time.Second))
			if !errors.Is(err, tc.kind) || errors.Is(err, locate.ErrRegionStale) || retry.IsRetryable(err) {
				t.Fatalf("err %v, want non-retryable %v", err, tc.kind)
			}
			if len(e.rpc.addrs()) != 1 {
				t.Fatalf("fail-fast error retried: %v", e.rpc.addrs())
			}
		})
	}
}

func TestSenderStoreNotMatchReresolves(t *testing.T) {
	t.Parallel()
	var e *senderEnv
	e = newSenderEnv(t, func(n int, addr string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
		if n == 0 {
			e.pd.mu.Lock()
			e.pd.stores[1] = &metapb.Store{Id: 1, Address: "store1-new"}
			e.pd.mu.Unlock()
			return &errorpb.Error{StoreNotMatch: &errorpb.StoreNotMatch{RequestStoreId: 1, ActualStoreId: 7}}, nil
		}
		return nil, nil
	})
	if _, err := e.send(t.Context(), retry.New(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(e.rpc.addrs()); got != "[store1 store1-new]" {
		t.Fatalf("attempts %s", got)
	}
	if fmt.Sprint(e.rpc.closed) != "[store1]" {
		t.Fatalf("closed %v", e.rpc.closed)
	}
}

func TestSenderServerIsBusy(t *testing.T) {
	t.Parallel()
	busy := &errorpb.Error{ServerIsBusy: &errorpb.ServerIsBusy{Reason: "scheduler is busy", EstimatedWaitMs: 500}}
	t.Run("follower read moves on without backoff", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script(busy))
		bo := retry.New(time.Second)
		if _, err := e.send(t.Context(), bo, locate.WithReplicaRead(locate.ReadMixed)); err != nil {
			t.Fatal(err)
		}
		addrs := e.rpc.addrs()
		if len(addrs) != 2 || addrs[0] == addrs[1] || bo.Slept() != 0 {
			t.Fatalf("attempts %v slept %v", addrs, bo.Slept())
		}
	})
	t.Run("leader read backs off before retrying the leader", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			e := newSenderEnv(t, script(busy))
			bo := retry.New(time.Minute)
			if _, err := e.send(t.Context(), bo); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(e.rpc.addrs()); got != "[store1 store1]" || bo.Attempts(retry.ServerBusy) != 1 {
				t.Fatalf("attempts %s, serverBusy backoffs %d", got, bo.Attempts(retry.ServerBusy))
			}
		})
	})
	t.Run("busy threshold diverts to an idle follower", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script())
		s, err := e.cache.Store(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		s.RecordEstimatedWait(time.Hour)
		if _, err := e.send(t.Context(), retry.New(time.Second), locate.WithBusyThreshold(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		c := e.rpc.last()
		if c.addr == "store1" || !c.ctx.ReplicaRead || c.ctx.BusyThresholdMs != 50 {
			t.Fatalf("attempt to %s replica=%v threshold=%d", c.addr, c.ctx.ReplicaRead, c.ctx.BusyThresholdMs)
		}
	})
	t.Run("busy threshold: all busy falls back to the leader without threshold", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script())
		for id := uint64(1); id <= 3; id++ {
			s, err := e.cache.Store(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			s.RecordEstimatedWait(time.Hour)
		}
		if _, err := e.send(t.Context(), retry.New(time.Second), locate.WithBusyThreshold(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		c := e.rpc.last()
		if c.addr != "store1" || c.ctx.ReplicaRead || c.ctx.BusyThresholdMs != 0 {
			t.Fatalf("attempt to %s replica=%v threshold=%d", c.addr, c.ctx.ReplicaRead, c.ctx.BusyThresholdMs)
		}
	})
}

func TestSenderReplicaSelection(t *testing.T) {
	t.Parallel()
	t.Run("follower", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script())
		for range 20 {
			if _, err := e.send(t.Context(), retry.New(time.Second), locate.WithReplicaRead(locate.ReadFollower)); err != nil {
				t.Fatal(err)
			}
			if c := e.rpc.last(); c.addr == "store1" || !c.ctx.ReplicaRead {
				t.Fatalf("follower read went to %s (replica=%v)", c.addr, c.ctx.ReplicaRead)
			}
		}
	})
	t.Run("closest by labels", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script())
		for _, mode := range []locate.ReplicaRead{locate.ReadMixed, locate.ReadFollower} {
			if _, err := e.send(t.Context(), retry.New(time.Second), locate.WithReplicaRead(mode),
				locate.WithMatchLabels(locate.Label{Key: "zone", Value: "z3"})); err != nil {
				t.Fatal(err)
			}
			if c := e.rpc.last(); c.addr != "store3" {
				t.Fatalf("%v read with zone z3 went to %s", mode, c.addr)
			}
		}
	})
	t.Run("learner", func(t *testing.T) {
		t.Parallel()
		pd := newFakePD()
		pd.regions[0].Meta.Peers[2].Role = metapb.PeerRole_Learner
		cache := newCache(t, pd)
		loc, err := cache.LocateKey(t.Context(), []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		rpc := &fakeRPC{answer: script()}
		snd := locate.NewSender(cache, rpc)
		for range 10 {
			if _, err := snd.Send(t.Context(), retry.New(time.Second), kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("a")}),
				loc.Region, locate.WithReplicaRead(locate.ReadLearner)); err != nil {
				t.Fatal(err)
			}
			if c := rpc.last(); c.addr != "store3" || !c.ctx.ReplicaRead || c.ctx.Peer.GetRole() != metapb.PeerRole_Learner {
				t.Fatalf("learner read went to %s (replica=%v role=%v)", c.addr, c.ctx.ReplicaRead, c.ctx.Peer.GetRole())
			}
		}
	})
	t.Run("leader read never asks a learner for the leader", func(t *testing.T) {
		t.Parallel()
		pd := newFakePD()
		pd.regions[0].Meta.Peers[2].Role = metapb.PeerRole_Learner
		cache := newCache(t, pd)
		loc, err := cache.LocateKey(t.Context(), []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		rpc := &fakeRPC{answer: func(int, string, *kvrpcpb.Context) (*errorpb.Error, error) {
			return nil, &kvrpc.RPCError{Sent: true, Err: kvrpc.ErrStreamBroken}
		}}
		snd := locate.NewSender(cache, rpc)
		synctest.Test(t, func(t *testing.T) {
			_, err := snd.Send(t.Context(), retry.New(time.Minute), kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("a")}), loc.Region)
			if !errors.Is(err, locate.ErrNoReplica) || fmt.Sprint(rpc.addrs()) != "[store1 store2]" {
				t.Fatalf("err %v after %v", err, rpc.addrs())
			}
		})
	})
	t.Run("prefer leader", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script())
		if _, err := e.send(t.Context(), retry.New(time.Second), locate.WithReplicaRead(locate.ReadPreferLeader)); err != nil {
			t.Fatal(err)
		}
		if c := e.rpc.last(); c.addr != "store1" || c.ctx.ReplicaRead {
			t.Fatalf("prefer-leader read went to %s", c.addr)
		}
		s, _ := e.cache.Store(t.Context(), 1)
		s.RecordSlowScore(100)
		if _, err := e.send(t.Context(), retry.New(time.Second), locate.WithReplicaRead(locate.ReadPreferLeader)); err != nil {
			t.Fatal(err)
		}
		if c := e.rpc.last(); c.addr == "store1" {
			t.Fatal("prefer-leader read stayed on a slow leader")
		}
	})
	t.Run("stale read falls back to the leader on DataIsNotReady", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script(&errorpb.Error{DataIsNotReady: &errorpb.DataIsNotReady{RegionId: 1, PeerId: 13, SafeTs: 5}}))
		bo := retry.New(time.Second)
		if _, err := e.send(t.Context(), bo, locate.WithStaleRead(), locate.WithMatchLabels(locate.Label{Key: "zone", Value: "z3"})); err != nil {
			t.Fatal(err)
		}
		e.rpc.mu.Lock()
		first, second := e.rpc.calls[0], e.rpc.calls[1]
		e.rpc.mu.Unlock()
		if first.addr != "store3" || !first.ctx.StaleRead {
			t.Fatalf("first attempt %s stale=%v, want stale read on store3", first.addr, first.ctx.StaleRead)
		}
		if second.addr != "store1" || second.ctx.StaleRead || second.ctx.ReplicaRead || bo.Slept() != 0 {
			t.Fatalf("fallback %s stale=%v replica=%v slept=%v, want normal leader read", second.addr, second.ctx.StaleRead, second.ctx.ReplicaRead, bo.Slept())
		}
	})
}

func TestSenderTransportFailures(t *testing.T) {
	t.Parallel()
	down := &kvrpc.RPCError{Addr: "store1", Sent: true, Err: kvrpc.ErrStreamBroken}
	t.Run("leader down: mark it, try other peers", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			e := newSenderEnv(t, func(_ int, addr string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
				if addr == "store1" {
					return nil, down
				}
				return nil, nil // store2 won the election
			})
			bo := retry.New(time.Minute)
			resp, err := e.send(t.Context(), bo)
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Message().(*kvrpcpb.RawGetResponse).Value) != "store2" || bo.Attempts(retry.TiKVRPC) != 1 {
				t.Fatalf("served by %s after %d tikvRPC backoffs", resp.Message(), bo.Attempts(retry.TiKVRPC))
			}
			if s := e.cache.CachedStore(1); s.Reachable() {
				t.Fatal("failed store not marked unreachable")
			}
		})
	})
	t.Run("every replica down: region invalidated", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			e := newSenderEnv(t, func(int, string, *kvrpcpb.Context) (*errorpb.Error, error) { return nil, down })
			_, err := e.send(t.Context(), retry.New(time.Minute))
			if !errors.Is(err, locate.ErrNoReplica) || !errors.Is(err, locate.ErrRegionStale) {
				t.Fatalf("err %v, want ErrNoReplica", err)
			}
			if len(e.rpc.addrs()) != 3 || e.cache.CachedRegion(e.ver) != nil {
				t.Fatalf("attempts %v; region still cached", e.rpc.addrs())
			}
		})
	})
	t.Run("non-idempotent request is not resent", func(t *testing.T) {
		t.Parallel()
		for name, req := range map[string]*kvrpc.Request{
			"compare and swap": kvrpc.NewRawCompareAndSwap(&kvrpcpb.RawCASRequest{Key: []byte("a")}),
			"put for cas":      kvrpc.NewRawPut(&kvrpcpb.RawPutRequest{Key: []byte("a"), ForCas: true}),
		} {
			e := newSenderEnv(t, func(int, string, *kvrpcpb.Context) (*errorpb.Error, error) { return nil, down })
			_, err := e.snd.Send(t.Context(), retry.New(time.Minute), req, e.ver)
			if !errors.Is(err, kvrpc.ErrStreamBroken) || len(e.rpc.addrs()) != 1 {
				t.Fatalf("%s: err %v after %v", name, err, e.rpc.addrs())
			}
		}
	})
	t.Run("idempotent write is resent", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			e := newSenderEnv(t, func(n int, _ string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
				if n == 0 {
					return nil, down
				}
				return nil, nil
			})
			req := kvrpc.NewRawPut(&kvrpcpb.RawPutRequest{Key: []byte("a")})
			if _, err := e.snd.Send(t.Context(), retry.New(time.Minute), req, e.ver); err != nil || len(e.rpc.addrs()) != 2 {
				t.Fatalf("err %v after %v", err, e.rpc.addrs())
			}
		})
	})
	t.Run("non-idempotent request that never left is resent", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			e := newSenderEnv(t, func(n int, addr string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
				if n == 0 {
					return nil, &kvrpc.RPCError{Addr: addr, Err: kvrpc.ErrStreamBroken}
				}
				return nil, nil
			})
			req := kvrpc.NewRawCompareAndSwap(&kvrpcpb.RawCASRequest{Key: []byte("a")})
			if _, err := e.snd.Send(t.Context(), retry.New(time.Minute), req, e.ver); err != nil || len(e.rpc.addrs()) != 2 {
				t.Fatalf("err %v after %v", err, e.rpc.addrs())
			}
		})
	})
	t.Run("closed client is not retried", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, func(int, string, *kvrpcpb.Context) (*errorpb.Error, error) {
			return nil, &kvrpc.RPCError{Addr: "store1", Err: kvrpc.ErrClosed}
		})
		_, err := e.send(t.Context(), retry.New(time.Minute))
		if !errors.Is(err, kvrpc.ErrClosed) || len(e.rpc.addrs()) != 1 {
			t.Fatalf("err %v after %v", err, e.rpc.addrs())
		}
	})
	t.Run("attempt timeout moves on without backoff", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, func(_ int, addr string, _ *kvrpcpb.Context) (*errorpb.Error, error) {
			if addr == "store1" {
				return nil, &kvrpc.RPCError{Addr: addr, Sent: true, Err: context.DeadlineExceeded}
			}
			return nil, nil
		})
		bo := retry.New(time.Minute)
		if _, err := e.send(t.Context(), bo, locate.WithReplicaRead(locate.ReadPreferLeader), locate.WithAttemptTimeout(time.Second)); err != nil {
			t.Fatal(err)
		}
		if a := e.rpc.addrs(); len(a) != 2 || a[0] != "store1" || bo.Slept() != 0 {
			t.Fatalf("attempts %v slept %v", a, bo.Slept())
		}
		if !e.cache.CachedStore(1).Reachable() {
			t.Fatal("a slow store was marked unreachable")
		}
	})
	t.Run("region not cached", func(t *testing.T) {
		t.Parallel()
		e := newSenderEnv(t, script())
		stale := e.ver
		stale.Ver++
		_, err := e.snd.Send(t.Context(), retry.New(time.Second), kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{}), stale)
		if !errors.Is(err, locate.ErrRegionStale) {
			t.Fatalf("err %v", err)
		}
	})
}
