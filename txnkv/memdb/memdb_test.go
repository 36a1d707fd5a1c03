package memdb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

func TestEmptyValueIsNotTombstone(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	if err := db.Set([]byte("a"), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if v, ok := db.Get([]byte("a")); !ok || len(v) != 0 {
		t.Errorf("Get(a) = %q, %v; want empty value, true", v, ok)
	}
	if _, ok := db.Get([]byte("b")); ok {
		t.Error("Get(b) found a value; want tombstone hidden")
	}
	e, ok := db.Lookup([]byte("b"))
	if !ok || !e.HasValue() || !e.Deleted() {
		t.Errorf("Lookup(b) = %+v, %v; want a tombstone", e, ok)
	}
	if _, ok := db.Lookup([]byte("c")); ok {
		t.Error("Lookup(c) found an absent key")
	}
	if db.Len() != 2 || db.Size() != 2 {
		t.Errorf("Len, Size = %d, %d; want 2, 2", db.Len(), db.Size())
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		opts  []memdb.Option
		key   []byte
		value []byte
		del   bool
		want  error
	}{
		{"key too large", nil, make([]byte, memdb.MaxKeyLen+1), nil, false, memdb.ErrEntryTooLarge},
		{"longest key", nil, make([]byte, memdb.MaxKeyLen), []byte("v"), false, nil},
		{"entry too large", []memdb.Option{memdb.WithEntrySizeLimit(10)}, []byte("key"), make([]byte, 8), false, memdb.ErrEntryTooLarge},
		{"entry at limit", []memdb.Option{memdb.WithEntrySizeLimit(10)}, []byte("key"), make([]byte, 7), false, nil},
		{"tombstone counts the key", []memdb.Option{memdb.WithEntrySizeLimit(2)}, []byte("key"), nil, true, memdb.ErrEntryTooLarge},
		{"total too large", []memdb.Option{memdb.WithTotalSizeLimit(20)}, []byte("key"), make([]byte, 18), false, memdb.ErrTxnTooLarge},
		{"total at limit", []memdb.Option{memdb.WithTotalSizeLimit(20)}, []byte("key"), make([]byte, 17), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := memdb.New(c.opts...)
			var err error
			if c.del {
				err = db.Delete(c.key)
			} else {
				err = db.Set(c.key, c.value)
			}
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil && (db.Len() != 0 || db.Size() != 0) {
				t.Errorf("failed write left Len %d Size %d", db.Len(), db.Size())
			}
		})
	}
}

func TestTotalLimitLeavesBufferUnchanged(t *testing.T) {
	t.Parallel()
	db := memdb.New(memdb.WithTotalSizeLimit(10))
	if err := db.Set([]byte("k"), []byte("1234")); err != nil {
		t.Fatal(err)
	}
	// Growing an existing value past the limit fails and keeps the old one.
	if err := db.Set([]byte("k"), []byte("1234567890")); !errors.Is(err, memdb.ErrTxnTooLarge) {
		t.Fatalf("err = %v, want ErrTxnTooLarge", err)
	}
	if v, _ := db.Get([]byte("k")); string(v) != "1234" {
		t.Errorf("value = %q after failed write", v)
	}
	// A new key past the limit is not added, even as an invisible entry.
	if err := db.UpdateFlags([]byte("0123456789"), memdb.SetKeyLocked); !errors.Is(err, memdb.ErrTxnTooLarge) {
		t.Fatalf("err = %v, want ErrTxnTooLarge", err)
	}
	if db.Len() != 1 || db.Size() != 5 {
		t.Errorf("Len, Size = %d, %d; want 1, 5", db.Len(), db.Size())
	}
	// Shrinking is always allowed.
	if err := db.Set([]byte("k"), []byte("1")); err != nil {
		t.Fatal(err)
	}
}

func TestStagingHandles(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	if err := db.Release(memdb.StagingHandle{}); !errors.Is(err, memdb.ErrStagingHandle) {
		t.Errorf("Release(zero) = %v", err)
	}
	h1 := db.Staging()
	h2 := db.Staging()
	if err := db.Cleanup(h1); !errors.Is(err, memdb.ErrStagingHandle) {
		t.Errorf("Cleanup(outer) = %v", err)
	}
	if db.StagingDepth() != 2 {
		t.Fatalf("depth %d after a refused Cleanup", db.StagingDepth())
	}
	if err := db.Release(h2); err != nil {
		t.Fatal(err)
	}
	if err := db.Release(h2); !errors.Is(err, memdb.ErrStagingHandle) {
		t.Errorf("second Release(h2) = %v", err)
	}
	if err := db.Cleanup(h1); err != nil {
		t.Fatal(err)
	}
	// A closed handle stays closed even when its depth is reused.
	h3 := db.Staging()
	if err := db.Cleanup(h1); !errors.Is(err, memdb.ErrStagingHandle) {
		t.Errorf("Cleanup(stale h1) = %v", err)
	}
	if err := db.Release(h3); err != nil {
		t.Fatal(err)
	}
}

func TestStagingSemantics(t *testing.T) {
	t.Parallel()
	k := []byte("k")
	cases := []struct {
		name      string
		run       func(db *memdb.MemDB) error
		wantVal   string // "" with wantFound false: no value
		wantFound bool
		wantFlags memdb.Flags
		wantIn    bool
		wantDirty bool
	}{
		{
			name: "cleanup restores the earlier value",
			run: func(db *memdb.MemDB) error {
				_ = db.Set(k, []byte("v1"))
				h := db.Staging()
				_ = db.Set(k, []byte("v2"))
				_ = db.Set(k, []byte("v3"))
				return db.Cleanup(h)
			},
			wantVal: "v1", wantFound: true, wantIn: true, wantDirty: true,
		},
		{
			name: "cleanup of a new key removes it",
			run: func(db *memdb.MemDB) error {
				h := db.Staging()
				_ = db.Set(k, []byte("v"), memdb.SetPresumeKeyNotExists)
				return db.Cleanup(h)
			},
		},
		{
			name: "persistent flags survive cleanup of a new key",
			run: func(db *memdb.MemDB) error {
				h := db.Staging()
				_ = db.Set(k, []byte("v"), memdb.SetKeyLocked, memdb.SetAssertExist)
				return db.Cleanup(h)
			},
			wantFlags: memdb.FlagKeyLocked, wantIn: true, wantDirty: true,
		},
		{
			name: "flags are not rolled back when a value was there",
			run: func(db *memdb.MemDB) error {
				_ = db.Set(k, []byte("v1"))
				h := db.Staging()
				_ = db.Delete(k, memdb.SetAssertNotExist)
				return db.Cleanup(h)
			},
			wantVal: "v1", wantFound: true, wantFlags: memdb.FlagAssertNotExist, wantIn: true, wantDirty: true,
		},
		{
			name: "release merges into the parent, parent cleanup discards",
			run: func(db *memdb.MemDB) error {
				h1 := db.Staging()
				_ = db.Set(k, []byte("v1"))
				h2 := db.Staging()
				_ = db.Set(k, []byte("v2"))
				if err := db.Release(h2); err != nil {
					return err
				}
				return db.Cleanup(h1)
			},
		},
		{
			name: "release to top level marks dirty",
			run: func(db *memdb.MemDB) error {
				h := db.Staging()
				_ = db.Set(k, []byte("v"))
				return db.Release(h)
			},
			wantVal: "v", wantFound: true, wantIn: true, wantDirty: true,
		},
		{
			name: "writing a value clears the postponed constraint check",
			run: func(db *memdb.MemDB) error {
				_ = db.UpdateFlags(k, memdb.SetNeedConstraintCheckInPrewrite, memdb.SetKeyLocked)
				return db.Set(k, []byte("v"))
			},
			wantVal: "v", wantFound: true, wantFlags: memdb.FlagKeyLocked, wantIn: true, wantDirty: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := memdb.New()
			if err := c.run(db); err != nil {
				t.Fatal(err)
			}
			v, found := db.Get(k)
			if found != c.wantFound || string(v) != c.wantVal {
				t.Errorf("Get = %q, %v; want %q, %v", v, found, c.wantVal, c.wantFound)
			}
			f, in := db.Flags(k)
			if in != c.wantIn || f != c.wantFlags {
				t.Errorf("Flags = %x, %v; want %x, %v", f, in, c.wantFlags, c.wantIn)
			}
			if db.Dirty() != c.wantDirty {
				t.Errorf("Dirty = %v, want %v", db.Dirty(), c.wantDirty)
			}
		})
	}
}

func TestCleanupReclaimsValueLog(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	_ = db.Set([]byte("base"), []byte("v"))
	before := db.Mem()
	h := db.Staging()
	big := make([]byte, 64<<10)
	for i := range 64 {
		_ = db.Set(fmt.Appendf(nil, "k%d", i), big)
	}
	if db.Mem() < before+64*64<<10 {
		t.Fatalf("Mem %d did not grow by the values", db.Mem())
	}
	if err := db.Cleanup(h); err != nil {
		t.Fatal(err)
	}
	// The entries stay in the index (as in client-go); the values go, but
	// for one chunk (at most 1 MiB) kept for the next statement.
	if grown := db.Mem() - before; grown > 1<<20+64<<10 {
		t.Errorf("Mem grew by %d after Cleanup", grown)
	}
	if db.Len() != 1 || db.Size() != 5 {
		t.Errorf("Len, Size = %d, %d", db.Len(), db.Size())
	}
}

func TestIteratorInvalidatedByWrite(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	for i := range 10 {
		_ = db.Set([]byte{byte(i)}, []byte{byte(i)})
	}
	it := db.Iter(nil, nil)
	it.Next()
	_ = db.Set([]byte{100}, nil)
	if it.Valid() {
		t.Error("iterator still valid after a write")
	}
	if !errors.Is(it.Err(), memdb.ErrIteratorInvalidated) {
		t.Errorf("Err = %v", it.Err())
	}
	n := 0
	for range db.All(nil, nil) {
		n++
		if n == 3 {
			_ = db.Delete([]byte{0})
		}
	}
	if n != 3 {
		t.Errorf("range went on for %d entries after a write", n)
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	for _, k := range []string{"", "a", "b", "c"} {
		_ = db.Set([]byte(k), []byte("v"+k))
	}
	collect := func(it *memdb.Iterator) string {
		var b bytes.Buffer
		for ; it.Valid(); it.Next() {
			fmt.Fprintf(&b, "[%s]", it.Key())
		}
		return b.String()
	}
	cases := []struct {
		start, end string
		fwd, rev   string
	}{
		{"", "", "[][a][b][c]", "[c][b][a][]"},
		{"a", "c", "[a][b]", "[b][a]"},
		{"a", "", "[a][b][c]", "[c][b][a]"},
		{"", "b", "[][a]", "[a][]"},
		{"b", "b", "", ""},
		{"c", "a", "", ""},
		{"bb", "z", "[c]", "[c]"},
		{"0", "a0", "[a]", "[a]"},
	}
	for _, c := range cases {
		if got := collect(db.Iter([]byte(c.start), []byte(c.end))); got != c.fwd {
			t.Errorf("Iter(%q, %q) = %s, want %s", c.start, c.end, got, c.fwd)
		}
		if got := collect(db.IterReverse([]byte(c.start), []byte(c.end))); got != c.rev {
			t.Errorf("IterReverse(%q, %q) = %s, want %s", c.start, c.end, got, c.rev)
		}
	}
}

func TestMutationsDoNotCopy(t *testing.T) {
	db := memdb.New()
	_ = db.Set([]byte("a"), []byte("va"))
	_ = db.Delete([]byte("b"))
	_ = db.UpdateFlags([]byte("c"), memdb.SetKeyLocked, memdb.SetKeyLockedInShareMode)
	_ = db.UpdateFlags([]byte("d"), memdb.SetNeedLocked)
	_ = db.Set([]byte("e"), []byte("ve"), memdb.SetIgnoredIn2PC)
	var got []string
	for m := range db.Mutations(false) {
		got = append(got, fmt.Sprintf("%s:%s:%s", m.Op, m.Key, m.Value))
	}
	want := []string{"Put:a:va", "Del:b:", "SharedLock:c:"}
	if !slices.Equal(got, want) {
		t.Errorf("mutations %v, want %v", got, want)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for m := range db.Mutations(true) {
			_ = m
		}
	})
	if allocs > 0 {
		t.Errorf("Mutations allocates %.1f times per pass", allocs)
	}
}

// TestBulk fills deep trees (random, ascending and descending keys) and
// checks every key and both iteration orders against a sorted copy.
func TestBulk(t *testing.T) {
	t.Parallel()
	n := 200_000
	if testing.Short() || raceEnabled {
		n = 20_000
	}
	gens := map[string]func(i int, r *rand.Rand) []byte{
		"random":     func(_ int, r *rand.Rand) []byte { return binary.BigEndian.AppendUint64(nil, r.Uint64()) },
		"ascending":  func(i int, _ *rand.Rand) []byte { return tidbKey(uint64(i)) },
		"descending": func(i int, _ *rand.Rand) []byte { return tidbKey(uint64(n - i)) },
		"varlen": func(_ int, r *rand.Rand) []byte {
			b := make([]byte, r.IntN(40))
			for i := range b {
				b[i] = byte(r.IntN(3))
			}
			return b
		},
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seed := rand.Uint64()
			r := rand.New(rand.NewPCG(seed, 1))
			db := memdb.New()
			want := map[string]string{}
			for i := range n {
				k := gen(i, r)
				v := fmt.Appendf(nil, "%d", i)
				if err := db.Set(k, v); err != nil {
					t.Fatal(err)
				}
				want[string(k)] = string(v)
			}
			if db.Len() != len(want) {
				t.Fatalf("seed %d: Len %d, want %d", seed, db.Len(), len(want))
			}
			keys := make([]string, 0, len(want))
			for k, v := range want {
				keys = append(keys, k)
				if got, ok := db.Get([]byte(k)); !ok || string(got) != v {
					t.Fatalf("seed %d: Get(%x) = %q, %v; want %q", seed, k, got, ok, v)
				}
			}
			slices.Sort(keys)
			i := 0
			for k, v := range db.All(nil, nil) {
				if string(k) != keys[i] || string(v) != want[keys[i]] {
					t.Fatalf("seed %d: entry %d is %x, want %x", seed, i, k, keys[i])
				}
				i++
			}
			for k := range db.Backward(nil, nil) {
				i--
				if string(k) != keys[i] {
					t.Fatalf("seed %d: reverse entry %d is %x, want %x", seed, i, k, keys[i])
				}
			}
		})
	}
}

// tidbKey builds a TiDB-style record key: "t", table ID, "_r", handle.
func tidbKey(handle uint64) []byte {
	k := make([]byte, 0, 19)
	k = append(k, 't')
	k = binary.BigEndian.AppendUint64(k, 42|1<<63)
	k = append(k, "_r"...)
	return binary.BigEndian.AppendUint64(k, handle|1<<63)
}

// TestConcurrentSafeReaders reads one buffer from several goroutines with no
// writer, the sharing the package allows. With a low hash threshold the
// buffer's hash index is behind the tree when the readers start, so they
// race to bring it up to date. The "large" case is big enough for
// iterators to load leaves ahead.
func TestConcurrentSafeReaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		hashFrom  int
		iterators int
		n         int
	}{
		{"tree", 1 << 30, 2, 5000},
		{"hash", 1000, 2, 5000},
		{"hash-gets-only", 1000, 0, 5000},
		{"large", 1000, 3, 40_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := memdb.New()
			memdb.SetHashFrom(db, tc.hashFrom)
			for i := range tc.n {
				_ = db.Set(tidbKey(uint64(i)), []byte("v"))
			}
			done := make(chan int)
			for g := range 4 {
				go func() {
					n := 0
					switch {
					case g < tc.iterators && g%2 == 1:
						for range db.Backward(nil, nil) {
							n++
						}
					case g < tc.iterators:
						for range db.All(nil, nil) {
							n++
						}
					default:
						for i := range tc.n {
							if _, ok := db.Get(tidbKey(uint64(i))); ok {
								n++
							}
						}
					}
					done <- n
				}()
			}
			for range 4 {
				if n := <-done; n != tc.n {
					t.Errorf("reader saw %d entries", n)
				}
			}
		})
	}
}

// TestMutationSetMatchesMutations checks the indexed form against the
// iterator form on a mixed buffer.
func TestMutationSetMatchesMutations(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	_ = db.Set([]byte("a"), []byte("va"), memdb.SetPresumeKeyNotExists)
	_ = db.Delete([]byte("b"), memdb.SetPresumeKeyNotExists)
	_ = db.Delete([]byte("c"), memdb.SetNewlyInserted, memdb.SetKeyLocked)
	_ = db.UpdateFlags([]byte("d"), memdb.SetKeyLocked)
	_ = db.Set([]byte("e"), nil)
	_ = db.Delete([]byte("f"))
	for _, pessimistic := range []bool{false, true} {
		var want []string
		size := 0
		for m := range db.Mutations(pessimistic) {
			want = append(want, fmt.Sprintf("%s %s %q %x", m.Op, m.Key, m.Value, m.Flags))
			size += len(m.Key) + len(m.Value)
		}
		ms := db.MutationSet(pessimistic)
		var got []string
		for i := range ms.Len() {
			got = append(got, fmt.Sprintf("%s %s %q %x", ms.Op(i), ms.Key(i), ms.Value(i), ms.Flags(i)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("pessimistic=%v: MutationSet %v, Mutations %v", pessimistic, got, want)
		}
		if ms.Size() != size {
			t.Errorf("Size %d, want %d", ms.Size(), size)
		}
	}
}

// TestSmallBufferAllocations keeps a one-key buffer, the common
// transaction (txnkv passes no options by default), at four allocations:
// the buffer, a chunk for the key, one for the value and one tree node.
func TestSmallBufferAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	k, v := []byte("k"), []byte("v")
	n := testing.AllocsPerRun(100, func() {
		db := memdb.New()
		if err := db.Set(k, v); err != nil {
			t.Fatal(err)
		}
	})
	if n > 4 {
		t.Errorf("New and one Set: %v allocations, want at most 4", n)
	}
}

// TestHashIndexCatchesUp alternates runs of new keys (which leave the hash
// index behind) of growing length with reads and overwrites (which bring it
// up to date, in bulk for long runs, growing the table), and checks every
// key, present or absent, after each run.
func TestHashIndexCatchesUp(t *testing.T) {
	t.Parallel()
	db := memdb.New()
	memdb.SetHashFrom(db, 100)
	n := 0
	for _, run := range []int{50, 100, 3000, 5000, 1, 20000} {
		for range run {
			if err := db.Set(tidbKey(uint64(2*n)), fmt.Appendf(nil, "%d", n)); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if run%2 == 0 {
			// An overwrite brings the index up to date, as a read does.
			if err := db.Set(tidbKey(0), []byte("0")); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			if v, ok := db.Get(tidbKey(uint64(2 * i))); !ok || string(v) != fmt.Sprint(i) {
				t.Fatalf("after %d keys: Get(%d) = %q, %v", n, i, v, ok)
			}
			if _, ok := db.Get(tidbKey(uint64(2*i + 1))); ok {
				t.Fatalf("after %d keys: absent key %d found", n, 2*i+1)
			}
		}
	}
}

// TestLargeIterMixed walks a buffer large enough for iterators to load
// leaves ahead, holding values, empty values, tombstones and flags-only
// keys, in both directions and with every option.
func TestLargeIterMixed(t *testing.T) {
	t.Parallel()
	const n = 40_000
	db := memdb.New()
	var live, tombs, flagsOnly int
	for i := range n {
		k := tidbKey(uint64(i))
		var err error
		switch i % 4 {
		case 0:
			err = db.Set(k, fmt.Appendf(nil, "v%d", i))
			live++
		case 1:
			err = db.Set(k, nil)
			live++
		case 2:
			err = db.Delete(k)
			tombs++
		case 3:
			err = db.UpdateFlags(k, memdb.SetPresumeKeyNotExists)
			flagsOnly++
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, reverse := range []bool{false, true} {
		for _, tc := range []struct {
			opts []memdb.IterOption
			want int
		}{
			{nil, live},
			{[]memdb.IterOption{memdb.WithTombstones}, live + tombs},
			{[]memdb.IterOption{memdb.WithTombstones, memdb.WithFlagsOnly}, n},
		} {
			it := db.Iter(nil, nil, tc.opts...)
			if reverse {
				it = db.IterReverse(nil, nil, tc.opts...)
			}
			var prev []byte
			c := 0
			for ; it.Valid(); it.Next() {
				k := it.Key()
				if prev != nil && (bytes.Compare(prev, k) >= 0) != reverse {
					t.Fatalf("reverse %v: %x after %x", reverse, k, prev)
				}
				prev = k
				h := binary.BigEndian.Uint64(k[11:]) &^ (1 << 63)
				v := it.Value()
				if h%4 == 0 && string(v) != fmt.Sprintf("v%d", h) || h%4 != 0 && len(v) != 0 {
					t.Fatalf("key %d: value %q", h, v)
				}
				c++
			}
			if it.Err() != nil || c != tc.want {
				t.Errorf("reverse %v opts %v: %d entries (err %v), want %d", reverse, tc.opts, c, it.Err(), tc.want)
			}
		}
	}
}
