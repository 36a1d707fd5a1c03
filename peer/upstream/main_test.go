package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/peer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// goleveldb's memory-pool drainer outlives DB.Close by up to a
		// second (it waits for one last pooled buffer, unsynchronised).
		goleak.IgnoreTopFunction("github.com/pingcap/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}

func TestRegistryHasEveryScenario(t *testing.T) {
	w := newWorker(nil)
	defer w.close()
	names := w.registry().Names()
	for _, s := range peer.Scenarios {
		if !slices.Contains(names, s.Name) {
			t.Errorf("client-go worker lacks scenario %s", s.Name)
		}
	}
}

// TestMockServesOverGRPC starts two mock instances the way the
// differential test does and checks they answer over gRPC and are
// independent.
func TestMockServesOverGRPC(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serveMocks(t.Context(), inR, outW)
		outW.Close()
	}()
	lines := bufio.NewReader(outR)
	var infos []MockInfo
	for range 2 {
		if _, err := io.WriteString(inW, "new\n"); err != nil {
			t.Fatal(err)
		}
		l, err := lines.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var info MockInfo
		if err := json.Unmarshal(l, &info); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		infos = append(infos, info)
	}
	for i, info := range infos {
		conn, err := grpc.NewClient(info.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		kv := tikvpb.NewTikvClient(conn)
		rctx := &kvrpcpb.Context{RegionId: info.RegionID, RegionEpoch: &metapb.RegionEpoch{ConfVer: info.ConfVer, Version: info.Version},
			Peer: &metapb.Peer{Id: info.PeerID, StoreId: info.StoreID}}
		if i == 0 {
			if r, err := kv.RawPut(t.Context(), &kvrpcpb.RawPutRequest{Context: rctx, Key: []byte("k"), Value: []byte("v")}); err != nil || r.Error != "" || r.RegionError != nil {
				t.Fatalf("RawPut = %v, %v", r, err)
			}
		}
		r, err := kv.RawGet(t.Context(), &kvrpcpb.RawGetRequest{Context: rctx, Key: []byte("k")})
		if err != nil || r.RegionError != nil {
			t.Fatalf("instance %d: RawGet = %v, %v", i, r, err)
		}
		if want := map[int]string{0: "v", 1: ""}[i]; string(r.Value) != want {
			t.Errorf("instance %d: RawGet = %q, want %q", i, r.Value, want)
		}
		// A wrong epoch is refused, so the context the caller sends matters.
		bad := *rctx
		bad.RegionEpoch = &metapb.RegionEpoch{ConfVer: info.ConfVer, Version: info.Version + 5}
		if r, err := kv.RawGet(t.Context(), &kvrpcpb.RawGetRequest{Context: &bad, Key: []byte("k")}); err != nil || r.RegionError == nil {
			t.Errorf("instance %d: RawGet with a stale epoch = %v, %v; want a region error", i, r, err)
		}
		conn.Close()
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSoakNeedsPD(t *testing.T) {
	if err := serveSoak(t.Context(), nil, strings.NewReader(""), io.Discard); !errors.Is(err, errNoPD) {
		t.Errorf("serveSoak without -pd: %v, want %v", err, errNoPD)
	}
}
