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

// benchSizes are the buffer sizes every benchmark runs at.
var benchSizes = []int{1_000, 100_000, 1_000_000}

// benchKeys returns n TiDB-style record keys (19 bytes) with handles 0..n-1
// in a fixed shuffled order, and a 16-byte value. peer/memdbcmp builds the
// same keys for the side-by-side run with client-go.
func benchKeys(n int) ([][]byte, []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	perm := r.Perm(n)
	keys := make([][]byte, n)
	for i, h := range perm {
		k := make([]byte, 0, 19)
		k = append(k, 't')
		k = binary.BigEndian.AppendUint64(k, 42|1<<63)
		k = append(k, "_r"...)
		keys[i] = binary.BigEndian.AppendUint64(k, uint64(h)|1<<63)
	}
	return keys, []byte("0123456789abcdef")
}

func filled(b *testing.B, keys [][]byte, val []byte) *memdb.MemDB {
	db := memdb.New()
	for _, k := range keys {
		if err := db.Set(k, val); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkSet builds a buffer of n keys per op; ns/key and bytes/entry
// (Mem divided by keys) are the figures to compare.
func BenchmarkSet(b *testing.B) {
	for _, n := range benchSizes {
		keys, val := benchKeys(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			var mem uint64
			for b.Loop() {
				db := filled(b, keys, val)
				mem = db.Mem()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			b.ReportMetric(float64(mem)/float64(n), "bytes/entry")
		})
	}
}

// BenchmarkSetAscending is BenchmarkSet with the keys in ascending order,
// as the record keys of new rows with increasing handles arrive.
func BenchmarkSetAscending(b *testing.B) {
	for _, n := range benchSizes {
		keys, val := benchKeys(n)
		slices.SortFunc(keys, bytes.Compare)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				filled(b, keys, val)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

// BenchmarkGet looks up existing keys of an n-key buffer, one per op.
func BenchmarkGet(b *testing.B) {
	for _, n := range benchSizes {
		keys, val := benchKeys(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db := filled(b, keys, val)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := db.Get(keys[i]); !ok {
					b.Fatal("missing key")
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}

// BenchmarkGetMiss looks up keys of the same table that the n-key buffer
// does not hold: the common case of a transaction reading a key it has not
// written.
func BenchmarkGetMiss(b *testing.B) {
	for _, n := range benchSizes {
		keys, val := benchKeys(n)
		miss := missKeys(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db := filled(b, keys, val)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := db.Get(miss[i]); ok {
					b.Fatal("found an absent key")
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}

// missKeys returns n record keys of the same table with handles n..2n-1.
func missKeys(n int) [][]byte {
	keys, _ := benchKeys(n)
	for _, k := range keys {
		binary.BigEndian.PutUint64(k[11:], binary.BigEndian.Uint64(k[11:])+uint64(n))
	}
	return keys
}

// BenchmarkIter walks the whole n-key buffer per op, forward and reverse.
func BenchmarkIter(b *testing.B) {
	for _, n := range benchSizes {
		keys, val := benchKeys(n)
		for _, reverse := range []bool{false, true} {
			name := fmt.Sprintf("%d/forward", n)
			if reverse {
				name = fmt.Sprintf("%d/reverse", n)
			}
			b.Run(name, func(b *testing.B) {
				db := filled(b, keys, val)
				b.ReportAllocs()
				for b.Loop() {
					it := db.Iter(nil, nil)
					if reverse {
						it = db.IterReverse(nil, nil)
					}
					c := 0
					for ; it.Valid(); it.Next() {
						c++
					}
					if c != n {
						b.Fatalf("iterated %d keys", c)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			})
		}
	}
}

// BenchmarkStagingCleanup opens a staging level on an n-key buffer,
// overwrites 16 keys and discards them: one statement that fails.
func BenchmarkStagingCleanup(b *testing.B) {
	for _, n := range benchSizes {
		keys, val := benchKeys(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db := filled(b, keys, val)
			other := []byte("fedcba9876543210")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h := db.Staging()
				for range 16 {
					if err := db.Set(keys[i], other); err != nil {
						b.Fatal(err)
					}
					if i++; i == n {
						i = 0
					}
				}
				if err := db.Cleanup(h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFillIterRows builds a buffer of n/2 rows, each a record key and
// an index entry of the same table ("t{table}_r{handle}" and
// "t{table}_i{index}{value}{handle}", in shuffled order), and walks it once
// per op: past the hash index threshold the walk sorts every key written,
// and the index entries agree on 8 bytes after the keys' common prefix, so
// the sort's abbreviations tie and it must look further into them.
func BenchmarkFillIterRows(b *testing.B) {
	for _, n := range benchSizes {
		r := rand.New(rand.NewPCG(5, 6))
		keys := make([][]byte, 0, n)
		for _, h := range r.Perm(n / 2) {
			rec := binary.BigEndian.AppendUint64([]byte("t"), 42|1<<63)
			rec = binary.BigEndian.AppendUint64(append(rec, "_r"...), uint64(h)|1<<63)
			idx := binary.BigEndian.AppendUint64([]byte("t"), 42|1<<63)
			idx = binary.BigEndian.AppendUint64(append(idx, "_i"...), 1|1<<63)
			idx = binary.BigEndian.AppendUint64(idx, r.Uint64N(1<<20)|1<<63)
			idx = binary.BigEndian.AppendUint64(idx, uint64(h)|1<<63)
			keys = append(keys, rec, idx)
		}
		val := []byte("0123456789abcdef")
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				db := filled(b, keys, val)
				c := 0
				for it := db.Iter(nil, nil); it.Valid(); it.Next() {
					c++
				}
				if c != len(keys) {
					b.Fatalf("walked %d keys of %d", c, len(keys))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}
