package keycodec_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/locate/keycodec"
)

func TestEncodeBytes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "\x00\x00\x00\x00\x00\x00\x00\x00\xf7"},
		{"short", "abc", "abc\x00\x00\x00\x00\x00\xfa"},
		{"one group", "abcdefgh", "abcdefgh\xff\x00\x00\x00\x00\x00\x00\x00\x00\xf7"},
		{"nine", "abcdefghi", "abcdefgh\xffi\x00\x00\x00\x00\x00\x00\x00\xf8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := keycodec.EncodeBytes([]byte(tc.in))
			if string(got) != tc.want {
				t.Fatalf("EncodeBytes(%q) = %q, want %q", tc.in, got, tc.want)
			}
			back, err := keycodec.DecodeBytes(got)
			if err != nil || string(back) != tc.in {
				t.Fatalf("DecodeBytes = %q, %v; want %q", back, err, tc.in)
			}
		})
	}
	if _, err := keycodec.DecodeBytes([]byte("abcdefgh\x01")); !errors.Is(err, keycodec.ErrBadRegionKey) {
		t.Fatalf("bad marker: err = %v, want ErrBadRegionKey", err)
	}
}

// TestCompareRegionKey checks the allocation-free comparison against
// comparing materialised encodings, on random keys and on truncated
// boundaries (which PD may report for regions split outside any client).
func TestCompareRegionKey(t *testing.T) {
	t.Parallel()
	seed := rand.Uint64()
	rnd := rand.New(rand.NewPCG(seed, 0))
	txn, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		t.Fatal(err)
	}
	key := func() []byte {
		b := make([]byte, rnd.IntN(20))
		for i := range b {
			b[i] = "\x00\x01a\xfe\xff"[rnd.IntN(5)]
		}
		return b
	}
	for range 20000 {
		w := key()
		r := keycodec.EncodeBytes(key())
		if rnd.IntN(3) == 0 {
			r = r[:rnd.IntN(len(r)+1)]
		}
		want := bytes.Compare(keycodec.EncodeBytes(w), r)
		if got := txn.CompareRegionKey(w, r); got != want {
			t.Fatalf("seed %d: CompareRegionKey(%q, %q) = %d, want %d", seed, w, r, got, want)
		}
	}
}

// TestWireBoundAnyBoundary checks that WireBound(r) is the smallest wire key
// whose region key is at or after r for any boundary: encodings, encodings
// cut short or followed by a timestamp, and raw keys from a V1 cluster shared
// with raw KV, which are no encoding at all. Bytes come from a small
// alphabet of zeros, markers and letters so that the edge cases occur.
func TestWireBoundAnyBoundary(t *testing.T) {
	t.Parallel()
	seed := rand.Uint64()
	rnd := rand.New(rand.NewPCG(seed, 1))
	txn, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		t.Fatal(err)
	}
	alphabet := []byte{0, 1, 'a', 'b', 0xf6, 0xf7, 0xf8, 0xfe, 0xff}
	key := func(n int) []byte {
		b := make([]byte, rnd.IntN(n))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return b
	}
	for range 20000 {
		var r []byte
		switch rnd.IntN(4) {
		case 0: // a raw key
			r = key(30)
		case 1: // an encoding
			r = keycodec.EncodeBytes(key(20))
		case 2: // an encoding cut short
			r = keycodec.EncodeBytes(key(20))
			r = r[:rnd.IntN(len(r)+1)]
		default: // an encoding with a suffix
			r = append(keycodec.EncodeBytes(key(20)), key(9)...)
		}
		if len(r) == 0 {
			continue
		}
		lo, err := txn.WireBound(r)
		if err != nil {
			t.Fatalf("seed %d: WireBound(%q): %v", seed, r, err)
		}
		if bytes.Compare(keycodec.EncodeBytes(lo), r) < 0 {
			t.Fatalf("seed %d: WireBound(%q) = %q encodes below the boundary", seed, r, lo)
		}
		for range 20 {
			w := key(20)
			if rnd.IntN(2) == 0 && len(lo) > 0 { // near the bound
				w = append(bytes.Clone(lo[:rnd.IntN(len(lo))]), key(4)...)
			}
			at := bytes.Compare(keycodec.EncodeBytes(w), r) >= 0
			if after := bytes.Compare(w, lo) >= 0; at != after {
				t.Fatalf("seed %d: boundary %q, bound %q, key %q: region key at or after boundary %v, key at or after bound %v", seed, r, lo, w, at, after)
			}
		}
	}
}

// TestRequestEnd: for a region ending at a raw split key the end a request
// carries stays inside the region (its encoding is not past the boundary)
// and still lies above every storable key the region holds.
func TestRequestEnd(t *testing.T) {
	t.Parallel()
	txn, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		regionEnd string
		below     []string // keys of the region
	}{
		{"raw_key_0001", []string{"raw_key", "raw_key^", "raw_key^\xff\xff\xff\xff\xff\xff\xff\xff\xff"}},
		{"s\x00\x00", []string{"r\xff\xff", "r"}},
		{"abcdefgh\xfe", []string{"abcdefg", "abcdefgg\xff\xff"}},
	} {
		r := []byte(tc.regionEnd)
		end, _ := txn.WireBound(r)
		out, ok := txn.RequestEnd(end, r)
		if !ok {
			t.Fatalf("%q: no request end", r)
		}
		if bytes.Compare(keycodec.EncodeBytes(out), r) > 0 {
			t.Errorf("%q: request end %q encodes past the region", r, out)
		}
		if bytes.Compare(out, end) >= 0 || len(out) < keycodec.MaxStoredKeyLen {
			t.Errorf("%q: request end of %d bytes not below the span end %q", r, len(out), end)
		}
		for _, k := range tc.below {
			if bytes.Compare(keycodec.EncodeBytes([]byte(k)), r) >= 0 || bytes.Compare([]byte(k), out) >= 0 {
				t.Errorf("%q: key %q not in the region below the request end", r, k)
			}
		}
	}
	// An encoded boundary needs nothing; one with a timestamp has no end.
	k := keycodec.EncodeBytes([]byte("k"))
	if out, ok := txn.RequestEnd([]byte("k"), k); !ok || string(out) != "k" {
		t.Errorf("encoded boundary: %q, %v", out, ok)
	}
	withTS := append(bytes.Clone(k), 1, 2, 3, 4, 5, 6, 7, 8)
	end, _ := txn.WireBound(withTS)
	if _, ok := txn.RequestEnd(end, withTS); ok {
		t.Errorf("a boundary inside one key's versions got a request end")
	}
}

func TestCodecs(t *testing.T) {
	t.Parallel()
	raw1, _ := keycodec.NewV1(keycodec.Raw)
	txn1, _ := keycodec.NewV1(keycodec.Txn)
	raw2, err := keycodec.NewV2(keycodec.Raw, 0x010203)
	if err != nil {
		t.Fatal(err)
	}
	txn2, _ := keycodec.NewV2(keycodec.Txn, keycodec.MaxKeyspaceID)
	cases := []struct {
		name       string
		c          *keycodec.Codec
		wire, end  string
		region     string
		apiVersion kvrpcpb.APIVersion
	}{
		{"v1 raw", raw1, "k", "", "k", kvrpcpb.APIVersion_V1},
		{"zero value", &keycodec.Codec{}, "k", "", "k", kvrpcpb.APIVersion_V1},
		{"v1 txn", txn1, "k", "", "k\x00\x00\x00\x00\x00\x00\x00\xf8", kvrpcpb.APIVersion_V1},
		{"v2 raw", raw2, "r\x01\x02\x03k", "r\x01\x02\x04", "r\x01\x02\x03k\x00\x00\x00\xfc", kvrpcpb.APIVersion_V2},
		{"v2 txn last keyspace", txn2, "x\xff\xff\xffk", "y", "x\xff\xff\xffk\x00\x00\x00\xfc", kvrpcpb.APIVersion_V2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws, we := tc.c.EncodeRange([]byte("k"), nil)
			if string(ws) != tc.wire || string(we) != tc.end {
				t.Fatalf("EncodeRange = %q, %q; want %q, %q", ws, we, tc.wire, tc.end)
			}
			if got := tc.c.RegionKey(ws); string(got) != tc.region {
				t.Fatalf("RegionKey = %q, want %q", got, tc.region)
			}
			if got, err := tc.c.WireBound([]byte(tc.region)); err != nil || string(got) != tc.wire {
				t.Fatalf("WireBound = %q, %v; want %q", got, err, tc.wire)
			}
			if got, err := tc.c.DecodeKey(ws); err != nil || string(got) != "k" {
				t.Fatalf("DecodeKey = %q, %v", got, err)
			}
			if got := tc.c.Context().GetApiVersion(); got != tc.apiVersion {
				t.Fatalf("api version %v, want %v", got, tc.apiVersion)
			}
		})
	}
	if _, err := raw2.DecodeKey([]byte("r\x00\x00\x00k")); !errors.Is(err, keycodec.ErrOutsideKeyspace) {
		t.Fatalf("foreign key: err = %v", err)
	}
	if _, err := keycodec.NewV2(keycodec.Raw, 1<<24); !errors.Is(err, keycodec.ErrBadKeyspace) {
		t.Fatalf("keyspace 1<<24: err = %v", err)
	}
	if _, err := keycodec.NewV1(keycodec.Mode(9)); !errors.Is(err, keycodec.ErrBadMode) {
		t.Fatalf("mode 9: err = %v", err)
	}
}

// BenchmarkCodec measures the conversions on the routing path: encoding a
// key to locate it, and comparing a key with an encoded boundary.
func BenchmarkCodec(b *testing.B) {
	txn, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{8, 32, 256} {
		key := bytes.Repeat([]byte("k"), n)
		bound := keycodec.EncodeBytes(append(bytes.Repeat([]byte("k"), n-1), 'l'))
		b.Run(fmt.Sprintf("RegionKey/len=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = txn.RegionKey(key)
			}
		})
		b.Run(fmt.Sprintf("CompareRegionKey/len=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if txn.CompareRegionKey(key, bound) >= 0 {
					b.Fatal("order")
				}
			}
		})
	}
}
