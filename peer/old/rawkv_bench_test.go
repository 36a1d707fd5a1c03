package peer

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/pdclient"
	ourraw "github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// rawOps is one implementation of the four benchmarked raw operations.
type rawOps struct {
	get      func(ctx context.Context, k []byte) error
	put      func(ctx context.Context, k, v []byte) error
	batchGet func(ctx context.Context, ks [][]byte) error
	scan     func(ctx context.Context, start []byte, limit int) error
}

// BenchmarkRawKV compares tikvgo's rawkv with client-go v2.0.4's rawkv and
// with bare gRPC calls (the floor: one unary RPC per operation, region
// context precomputed, no routing or retries), side by side in one run
// against the same one-store tikvsim cluster, at 1 and 128 concurrent
// callers:
//
//	cd peer && GOWORK=off go test -run '^$' -bench BenchmarkRawKV -benchtime 2s
//
// The simulated cluster runs in the benchmark's process by default, so
// allocs/op include the server's allocations (the same for every
// implementation). To count the client's allocations alone, run the cluster
// in its own process and name its PD in PEER_RAWKV_PD:
//
//	go run ./tikvsim/cmd/tikvsim -stores 1 -replicas 1 -admin '' # prints "PD 127.0.0.1:NNNN"
//	cd peer && PEER_RAWKV_PD=127.0.0.1:NNNN GOWORK=off go test -run '^$' -bench BenchmarkRawKV
//
// An unreachable PEER_RAWKV_PD fails the benchmark; it never falls back.
func BenchmarkRawKV(b *testing.B) {
	ctx := b.Context()
	var pdAddrs []string
	if addr := os.Getenv("PEER_RAWKV_PD"); addr != "" {
		pdAddrs = []string{addr}
	} else {
		pdAddrs = startSim(b, tikvsim.Options{Stores: 1, Replicas: 1}).PDAddrs()
	}
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "bench-raw-%03d", i)
	}
	value := make([]byte, 64)

	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ours, err := ourraw.New(dialCtx, pdAddrs)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ours.Close() })
	theirs := clientGoRawKV(b, pdAddrs)
	floor := newGRPCFloor(b, dialCtx, pdAddrs)

	impls := []struct {
		name string
		ops  rawOps
	}{
		{"tikvgo", rawOps{
			get: func(ctx context.Context, k []byte) error { _, err := ours.Get(ctx, k); return err },
			put: func(ctx context.Context, k, v []byte) error { return ours.Put(ctx, k, v) },
			batchGet: func(ctx context.Context, ks [][]byte) error {
				vs, err := ours.BatchGet(ctx, ks)
				return expectValues(len(vs), countNonNil(vs), err)
			},
			scan: func(ctx context.Context, s []byte, n int) error {
				kvs, err := ours.Scan(ctx, s, nil, n)
				return expectValues(n, len(kvs), err)
			},
		}},
		{"client-go-v2.0.4", rawOps{
			get: func(ctx context.Context, k []byte) error { _, err := theirs.Get(ctx, k); return err },
			put: func(ctx context.Context, k, v []byte) error { return theirs.Put(ctx, k, v) },
			batchGet: func(ctx context.Context, ks [][]byte) error {
				vs, err := theirs.BatchGet(ctx, ks)
				return expectValues(len(vs), countNonNil(vs), err)
			},
			scan: func(ctx context.Context, s []byte, n int) error {
				ks, _, err := theirs.Scan(ctx, s, nil, n)
				return expectValues(n, len(ks), err)
			},
		}},
		{"grpc-floor", floor.ops()},
	}
	// Fill the keys once and warm every implementation up (connections,
	// region caches, HTTP/2 windows).
	if err := ours.BatchPut(ctx, keys, repeat(value, len(keys))); err != nil {
		b.Fatal(err)
	}
	for _, impl := range impls {
		for range 200 {
			if err := impl.ops.get(ctx, keys[0]); err != nil {
				b.Fatalf("%s warm-up: %v", impl.name, err)
			}
			if err := impl.ops.batchGet(ctx, keys); err != nil {
				b.Fatalf("%s warm-up: %v", impl.name, err)
			}
		}
	}

	type op struct {
		name string
		run  func(ops rawOps, ctx context.Context) error
	}
	workloads := []op{
		{"Get", func(o rawOps, ctx context.Context) error { return o.get(ctx, keys[7]) }},
		{"Put", func(o rawOps, ctx context.Context) error { return o.put(ctx, keys[9], value) }},
		{"BatchGet100", func(o rawOps, ctx context.Context) error { return o.batchGet(ctx, keys) }},
		{"Scan100", func(o rawOps, ctx context.Context) error { return o.scan(ctx, keys[0], len(keys)) }},
	}
	for _, w := range workloads {
		for _, callers := range []int{1, 128} {
			for _, impl := range impls {
				b.Run(fmt.Sprintf("%s/callers=%d/impl=%s", w.name, callers, impl.name), func(b *testing.B) {
					b.ReportAllocs()
					if callers == 1 {
						for b.Loop() {
							if err := w.run(impl.ops, ctx); err != nil {
								b.Fatal(err)
							}
						}
					} else {
						b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if err := w.run(impl.ops, ctx); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				})
			}
		}
	}
}

func repeat(v []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func countNonNil(vs [][]byte) int {
	n := 0
	for _, v := range vs {
		if v != nil {
			n++
		}
	}
	return n
}

func expectValues(want, got int, err error) error {
	if err == nil && got != want {
		return fmt.Errorf("got %d values, want %d", got, want)
	}
	return err
}

// grpcFloor sends the raw requests straight to the leader of the region
// holding the benchmark's keys, over one gRPC connection, with the region
// context looked up once from PD.
type grpcFloor struct {
	client tikvpb.TikvClient
	region *metapb.Region
	peer   *metapb.Peer
}

func newGRPCFloor(b *testing.B, ctx context.Context, pdAddrs []string) *grpcFloor {
	b.Helper()
	pd, err := pdclient.New(ctx, pdAddrs)
	if err != nil {
		b.Fatal(err)
	}
	defer pd.Close()
	r, err := pd.GetRegion(ctx, []byte("bench-raw-000"))
	if err != nil {
		b.Fatal(err)
	}
	if r.Leader == nil || len(r.Meta.GetEndKey()) != 0 || len(r.Meta.GetStartKey()) != 0 {
		b.Fatalf("the floor needs one region with a leader, got %v leader %v", r.Meta, r.Leader)
	}
	st, err := pd.GetStore(ctx, r.Leader.GetStoreId())
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(st.GetAddress(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return &grpcFloor{client: tikvpb.NewTikvClient(conn), region: r.Meta, peer: r.Leader}
}

func (f *grpcFloor) ctx() *kvrpcpb.Context {
	return &kvrpcpb.Context{
		RegionId:    f.region.GetId(),
		RegionEpoch: f.region.GetRegionEpoch(),
		Peer:        f.peer,
	}
}

func (f *grpcFloor) ops() rawOps {
	const timeout = 10 * time.Second
	return rawOps{
		get: func(ctx context.Context, k []byte) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r, err := f.client.RawGet(ctx, &kvrpcpb.RawGetRequest{Context: f.ctx(), Key: k})
			if err == nil && (r.RegionError != nil || r.Error != "") {
				err = fmt.Errorf("floor RawGet: %v %s", r.RegionError, r.Error)
			}
			return err
		},
		put: func(ctx context.Context, k, v []byte) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r, err := f.client.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: f.ctx(), Key: k, Value: v})
			if err == nil && (r.RegionError != nil || r.Error != "") {
				err = fmt.Errorf("floor RawPut: %v %s", r.RegionError, r.Error)
			}
			return err
		},
		batchGet: func(ctx context.Context, ks [][]byte) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r, err := f.client.RawBatchGet(ctx, &kvrpcpb.RawBatchGetRequest{Context: f.ctx(), Keys: ks})
			if err == nil && r.RegionError != nil {
				err = fmt.Errorf("floor RawBatchGet: %v", r.RegionError)
			}
			if err != nil {
				return err
			}
			return expectValues(len(ks), len(r.Pairs), nil)
		},
		scan: func(ctx context.Context, s []byte, n int) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r, err := f.client.RawScan(ctx, &kvrpcpb.RawScanRequest{Context: f.ctx(), StartKey: s, Limit: uint32(n)})
			if err == nil && r.RegionError != nil {
				err = fmt.Errorf("floor RawScan: %v", r.RegionError)
			}
			if err != nil {
				return err
			}
			return expectValues(n, len(r.Kvs), nil)
		},
	}
}
