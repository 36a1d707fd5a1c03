package main

import (
	"slices"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestRegistriesCoverScenarios(t *testing.T) {
	t.Parallel()
	w := &tikvgoWorker{}
	defer w.close()
	names := w.registry().Names()
	for _, s := range peer.Scenarios {
		if !slices.Contains(names, s.Name) {
			t.Errorf("tikvgo worker lacks scenario %s", s.Name)
		}
	}
	for _, stream := range []bool{true, false} {
		f := &floorWorker{stream: stream}
		got := f.registry().Names()
		want := []string{peer.RawGet, peer.RawPut, peer.TSOGetTS, peer.TxnSnapGet, peer.TxnSnapBatchGet100, peer.TxnCommit2PC, peer.TxnCommit1PC}
		if !stream {
			want = append(want, peer.RawBatchGet100, peer.RawScan100)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("floor (stream %v) registers %v, want %v", stream, got, want)
		}
		f.close()
	}
}

// TestFloorsAgainstSim runs both floors' operations against an in-process
// tikvsim cluster with one region: the smoke run covers them against the
// out-of-process one, this checks their answers are read right.
func TestFloorsAgainstSim(t *testing.T) {
	t.Parallel()
	c := startSim(t, tikvsim.Options{Stores: 1, Replicas: 1})
	for _, stream := range []bool{true, false} {
		f := &floorWorker{pdAddrs: c.PDAddrs(), stream: stream}
		reg := f.registry()
		for _, name := range reg.Names() {
			res := peer.Run(t.Context(), reg, "floor", peer.Case{Scenario: name, Callers: 4, MaxOps: 40, Warmup: 2})
			if res.Failed != "" || res.Errors != 0 || res.Ops != 40 {
				t.Errorf("stream %v %s: %+v", stream, name, res)
			}
		}
		// The TSO floor reads its answers right: they strictly increase.
		var last uint64
		for range 5 {
			ts, err := f.ntso.getTS(t.Context())
			if err != nil || ts <= last {
				t.Fatalf("stream %v: TSO floor gave %d after %d, %v", stream, ts, last, err)
			}
			last = ts
		}
		// The commit floors' writes are committed: a later read sees them.
		ts, err := f.tsoClient(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		at, err := ts.GetTS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{peer.TxnCommit2PC, peer.TxnCommit1PC} {
			r, err := f.txnCalls().get(t.Context(), &kvrpcpb.GetRequest{Context: f.rctx, Key: peer.TxnCommitKey(name, 0, 0), Version: uint64(at)})
			if err != nil || r.RegionError != nil || r.Error != nil || r.NotFound {
				t.Errorf("stream %v %s: read back %v, %v", stream, name, r, err)
			}
		}
		f.close()
	}
}
