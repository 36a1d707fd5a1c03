package memdb_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

// orderKeys returns n distinct keys in random order, from families that
// stress the sort and the bottom-up build of deferred ordering: record keys
// (a long shared prefix), keys sharing more than the 28 bytes a node keeps
// inline, keys that are prefixes of each other or end in zero bytes (equal
// abbreviations), and random short keys.
func orderKeys(r *rand.Rand, n int) [][]byte {
	long := bytes.Repeat([]byte("L"), 40)
	seen := map[string]bool{}
	ks := make([][]byte, 0, n)
	for len(ks) < n {
		var k []byte
		switch r.IntN(5) {
		case 0:
			k = tidbKey(r.Uint64N(1 << 20))
		case 1:
			k = binary.BigEndian.AppendUint32(slices.Clone(long), r.Uint32N(1<<16))
		case 2:
			k = append([]byte("pz"), make([]byte, r.IntN(12))...)
			if r.IntN(2) == 0 {
				k = append(k, byte(r.IntN(3)))
			}
		case 3:
			k = binary.BigEndian.AppendUint64(nil, r.Uint64())[:1+r.IntN(8)]
		default:
			k = append(tidbKey(r.Uint64N(1<<10)), byte(r.IntN(256)), byte(r.IntN(2)))
		}
		if !seen[string(k)] {
			seen[string(k)] = true
			ks = append(ks, k)
		}
	}
	return ks
}

// TestDeferredOrder loads shuffled keys past the hash index threshold and
// reads them in order at growing intervals, so that pending keys are folded
// in both by rebuilding the tree and by inserting them one by one; every
// ordered read must see exactly the keys written so far.
func TestDeferredOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, hashFrom int }{{30_000, 8192}, {5000, 0}, {5000, 700}} {
		t.Run(fmt.Sprintf("n=%d/hashFrom=%d", tc.n, tc.hashFrom), func(t *testing.T) {
			t.Parallel()
			seed := rand.Uint64()
			r := rand.New(rand.NewPCG(seed, 7))
			ks := orderKeys(r, tc.n)
			db := memdb.New()
			memdb.SetHashFrom(db, tc.hashFrom)
			var want []string
			next := 1
			for i, k := range ks {
				if err := db.Set(k, k[:len(k)/2]); err != nil {
					t.Fatal(err)
				}
				want = append(want, string(k))
				if i+1 != next && i+1 != len(ks) {
					continue
				}
				// Reads at 1, 2, 3, 5, 8, ... keys: some batches are large
				// next to the tree, some small.
				next += max(1, next/2+r.IntN(next/4+1))
				slices.Sort(want)
				checkOrder(t, db, want, r, seed)
				if v, ok := db.Get(k); !ok || !bytes.Equal(v, k[:len(k)/2]) {
					t.Fatalf("seed %d: Get(%q) = %q, %v", seed, k, v, ok)
				}
			}
		})
	}
}

// checkOrder compares full scans in both directions, and a bounded one,
// with want (sorted).
func checkOrder(t *testing.T, db *memdb.MemDB, want []string, r *rand.Rand, seed uint64) {
	t.Helper()
	var got []string
	for k, v := range db.All(nil, nil) {
		if !bytes.Equal(v, k[:len(k)/2]) {
			t.Fatalf("seed %d: value of %q is %q", seed, k, v)
		}
		got = append(got, string(k))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("seed %d: forward scan of %d keys differs from the %d written", seed, len(got), len(want))
	}
	got = got[:0]
	for k := range db.Backward(nil, nil) {
		got = append(got, string(k))
	}
	slices.Reverse(got)
	if !slices.Equal(got, want) {
		t.Fatalf("seed %d: backward scan differs", seed)
	}
	a, b := want[r.IntN(len(want))], want[r.IntN(len(want))]
	if a > b {
		a, b = b, a
	}
	lo, _ := slices.BinarySearch(want, a)
	hi, _ := slices.BinarySearch(want, b)
	got = got[:0]
	for it := db.Iter([]byte(a), []byte(b)); it.Valid(); it.Next() {
		got = append(got, string(it.Key()))
	}
	if !slices.Equal(got, want[lo:hi]) {
		t.Fatalf("seed %d: scan of [%q, %q) differs", seed, a, b)
	}
}

// TestDeferredOrderCleanup discards a statement that added pending keys
// and overwrote others: ordered reads must show the keys and values from
// before it, and the discarded keys must stay out of later reads even after
// they were folded into the tree.
func TestDeferredOrderCleanup(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	memdb.SetHashFrom(db, 100)
	r := rand.New(rand.NewPCG(1, 2))
	perm := r.Perm(4000)
	for _, h := range perm[:2000] {
		_ = db.Set(tidbKey(uint64(h)), []byte("a"))
	}
	n := 0
	for range db.All(nil, nil) {
		n++
	}
	st := db.Staging()
	for _, h := range perm[1000:3000] {
		_ = db.Set(tidbKey(uint64(h)), []byte("b"))
	}
	if err := db.Cleanup(st); err != nil {
		t.Fatal(err)
	}
	for _, h := range perm[3000:] {
		_ = db.Set(tidbKey(uint64(h)), []byte("c"))
	}
	if db.Len() != 3000 {
		t.Fatalf("Len = %d, want 3000", db.Len())
	}
	var got []uint64
	for k, v := range db.All(nil, nil) {
		h := binary.BigEndian.Uint64(k[11:]) &^ (1 << 63)
		want := "a"
		if !slices.Contains(perm[:2000], int(h)) {
			want = "c"
		}
		if string(v) != want {
			t.Fatalf("key %d has %q, want %q", h, v, want)
		}
		got = append(got, h)
	}
	if len(got) != 3000 || !slices.IsSorted(got) {
		t.Fatalf("scan returned %d keys (sorted: %v), want 3000", len(got), slices.IsSorted(got))
	}
}
