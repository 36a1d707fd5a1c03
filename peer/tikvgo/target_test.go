package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestEncodeKey(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"empty":   {},
		"short":   []byte("abc"),
		"seven":   []byte("1234567"),
		"eight":   []byte("12345678"),
		"nine":    []byte("123456789"),
		"zeros":   {0, 0, 0},
		"sixteen": bytes.Repeat([]byte{0xff}, 16),
	}
	want := map[string][]byte{
		"empty": {0, 0, 0, 0, 0, 0, 0, 0, 0xf7},
		"short": {'a', 'b', 'c', 0, 0, 0, 0, 0, 0xfa},
		"eight": {'1', '2', '3', '4', '5', '6', '7', '8', 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xf7},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		k := make([]byte, rng.IntN(40))
		for j := range k {
			k[j] = byte(rng.IntN(256))
		}
		cases["random"+string(rune('a'+i%26))+string(rune('0'+i/26))] = k
	}
	for name, k := range cases {
		got := EncodeKey(k)
		if w, ok := want[name]; ok && !bytes.Equal(got, w) {
			t.Errorf("%s: EncodeKey(%q) = %x, want %x", name, k, got, w)
		}
		// tikvsim's encoder is an independent implementation of the
		// same format.
		if sim := tikvsim.EncodeKey(k); !bytes.Equal(got, sim) {
			t.Errorf("%s: EncodeKey(%x) = %x, tikvsim says %x", name, k, got, sim)
		}
	}
}

// TestSimTargetRoutesByPD checks that SimTarget asks PD for the region of
// each key: with a split at "m", keys on both sides are served without a
// region error, and transactional keys are routed by their encoding.
func TestSimTargetRoutesByPD(t *testing.T) {
	t.Parallel()
	c := startSim(t, tikvsim.Options{SplitKeys: [][]byte{EncodeKey([]byte("m"))}})
	sim, err := NewSimTarget(t.Context(), c.PDAddrs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if sim.ClusterID() != c.ClusterID() {
		t.Errorf("ClusterID = %d, want %d", sim.ClusterID(), c.ClusterID())
	}
	left, _, err := sim.Locate(t.Context(), []byte("a"), TxnKey)
	if err != nil {
		t.Fatal(err)
	}
	right, _, err := sim.Locate(t.Context(), []byte("z"), TxnKey)
	if err != nil {
		t.Fatal(err)
	}
	if left.GetId() == right.GetId() {
		t.Fatalf("keys on both sides of the split map to one region %d", left.GetId())
	}
	for _, k := range []string{"a", "z"} {
		req := NewRequest(CmdGet, &kvrpcpb.GetRequest{Key: []byte(k), Version: 1}, kvrpcpb.Context{})
		resp, err := sim.Send(t.Context(), req, []byte(k), TxnKey)
		if err != nil {
			t.Fatalf("Send(%q): %v", k, err)
		}
		if e := resp.Resp.(*kvrpcpb.GetResponse).RegionError; e != nil {
			t.Errorf("Send(%q): region error %v", k, e)
		}
	}
}

func TestSimTargetErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewSimTarget(t.Context(), nil); !errors.Is(err, ErrNoRegion) {
		t.Errorf("NewSimTarget(no addrs) = %v, want ErrNoRegion", err)
	}
	c := startSim(t, tikvsim.Options{})
	sim, err := NewSimTarget(t.Context(), c.PDAddrs())
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	req := NewRequest(CmdGet, &kvrpcpb.GetRequest{Key: []byte("k"), Version: 1}, kvrpcpb.Context{})
	_, err = sim.Send(t.Context(), req, []byte("k"), TxnKey)
	var re *RouteError
	if !errors.As(err, &re) || re.Target != "tikvsim" || string(re.Key) != "k" {
		t.Errorf("Send on a closed target = %v, want a RouteError for key k", err)
	}
}
