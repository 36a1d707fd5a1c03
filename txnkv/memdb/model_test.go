package memdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

// model is the reference the buffer is checked against: a map plus sort,
// with staging as whole-map snapshots.
type model struct {
	m      map[string]mEntry
	stages []map[string]mEntry
	keys   []string // sorted keys of m; nil when stale
}

type mEntry struct {
	hasVal bool
	tomb   bool
	val    string
	flags  memdb.Flags
}

func newModel() *model { return &model{m: map[string]mEntry{}} }

func (m *model) write(k string, v []byte, tomb bool, ops []memdb.FlagsOp) {
	e, ok := m.m[k]
	if !ok {
		m.keys = nil
	}
	e.hasVal, e.tomb, e.val = true, tomb, string(v)
	e.flags &^= memdb.FlagNeedConstraintCheckInPrewrite
	e.flags = applyModelOps(e.flags, ops)
	m.m[k] = e
}

func (m *model) updateFlags(k string, ops []memdb.FlagsOp) {
	e, ok := m.m[k]
	if !ok {
		m.keys = nil
	}
	e.flags = applyModelOps(e.flags, ops)
	m.m[k] = e
}

// applyModelOps uses a probe buffer to apply ops, since FlagsOp is opaque;
// it is checked against the flag definitions in TestFlagsOps.
func applyModelOps(f memdb.Flags, ops []memdb.FlagsOp) memdb.Flags {
	for _, o := range ops {
		f = opTable[o](f)
	}
	return f
}

func (m *model) staging() {
	m.stages = append(m.stages, maps(m.m))
}

func maps(src map[string]mEntry) map[string]mEntry {
	dst := make(map[string]mEntry, len(src))
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func (m *model) release() { m.stages = m.stages[:len(m.stages)-1] }

func (m *model) cleanup() {
	snap := m.stages[len(m.stages)-1]
	m.stages = m.stages[:len(m.stages)-1]
	m.keys = nil
	for k, e := range m.m {
		old, had := snap[k]
		if had && old.hasVal {
			e.hasVal, e.tomb, e.val = old.hasVal, old.tomb, old.val
			m.m[k] = e
			continue
		}
		if !e.hasVal {
			continue // flags only, before and after: flags are not rolled back
		}
		e.hasVal, e.tomb, e.val = false, false, ""
		e.flags = e.flags.Persistent()
		if e.flags == 0 {
			delete(m.m, k)
			continue
		}
		m.m[k] = e
	}
}

func (m *model) size() int {
	n := 0
	for k, e := range m.m {
		n += len(k) + len(e.val)
	}
	return n
}

func (m *model) sorted() []string {
	if m.keys != nil {
		return m.keys
	}
	ks := make([]string, 0, len(m.m))
	for k := range m.m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	m.keys = ks
	return ks
}

// rangeOf returns the model's entries in [start, end) in order, filtered
// like an iterator with the given options.
func (m *model) rangeOf(start, end string, reverse, tombs, flagsOnly bool) []string {
	var out []string
	for _, k := range m.sorted() {
		if k < start || end != "" && k >= end {
			continue
		}
		e := m.m[k]
		if !e.hasVal && !flagsOnly || e.tomb && !tombs {
			continue
		}
		out = append(out, describe(k, e))
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

func describe(k string, e mEntry) string {
	switch {
	case !e.hasVal:
		return fmt.Sprintf("%q:flags=%x", k, e.flags)
	case e.tomb:
		return fmt.Sprintf("%q:tomb:flags=%x", k, e.flags)
	}
	return fmt.Sprintf("%q=%q:flags=%x", k, e.val, e.flags)
}

func describeEntry(e memdb.Entry) string {
	return describe(string(e.Key), mEntry{hasVal: e.HasValue(), tomb: e.Deleted(), val: string(e.Value), flags: e.Flags})
}

var allOps = []memdb.FlagsOp{
	memdb.SetPresumeKeyNotExists, memdb.DelPresumeKeyNotExists, memdb.SetPreviousPresumeKeyNotExists,
	memdb.SetKeyLocked, memdb.DelKeyLocked, memdb.SetKeyLockedInShareMode, memdb.SetKeyLockedInExclusiveMode,
	memdb.SetNeedLocked, memdb.DelNeedLocked, memdb.SetKeyLockedValueExists, memdb.SetKeyLockedValueNotExists,
	memdb.DelNeedCheckExists, memdb.SetPrewriteOnly, memdb.SetIgnoredIn2PC, memdb.SetNewlyInserted,
	memdb.SetAssertExist, memdb.SetAssertNotExist, memdb.SetAssertUnknown, memdb.SetAssertNone,
	memdb.SetNeedConstraintCheckInPrewrite, memdb.DelNeedConstraintCheckInPrewrite,
}

// opTable restates every op's meaning independently of the package.
var opTable = map[memdb.FlagsOp]func(memdb.Flags) memdb.Flags{
	memdb.SetPresumeKeyNotExists: func(f memdb.Flags) memdb.Flags {
		return f | memdb.FlagPresumeKeyNotExists | memdb.FlagNeedCheckExists
	},
	memdb.DelPresumeKeyNotExists: func(f memdb.Flags) memdb.Flags {
		return f &^ (memdb.FlagPresumeKeyNotExists | memdb.FlagNeedCheckExists)
	},
	memdb.SetPreviousPresumeKeyNotExists: func(f memdb.Flags) memdb.Flags { return f | memdb.FlagPreviousPresumeKeyNotExists },
	memdb.SetKeyLocked:                   func(f memdb.Flags) memdb.Flags { return f | memdb.FlagKeyLocked },
	memdb.DelKeyLocked:                   func(f memdb.Flags) memdb.Flags { return f &^ memdb.FlagKeyLocked },
	memdb.SetKeyLockedInShareMode:        func(f memdb.Flags) memdb.Flags { return f | memdb.FlagKeyLockedInShareMode },
	memdb.SetKeyLockedInExclusiveMode:    func(f memdb.Flags) memdb.Flags { return f &^ memdb.FlagKeyLockedInShareMode },
	memdb.SetNeedLocked:                  func(f memdb.Flags) memdb.Flags { return f | memdb.FlagNeedLocked },
	memdb.DelNeedLocked:                  func(f memdb.Flags) memdb.Flags { return f &^ memdb.FlagNeedLocked },
	memdb.SetKeyLockedValueExists: func(f memdb.Flags) memdb.Flags {
		return f&^memdb.FlagNeedConstraintCheckInPrewrite | memdb.FlagKeyLockedValueExists
	},
	memdb.SetKeyLockedValueNotExists: func(f memdb.Flags) memdb.Flags {
		return f &^ (memdb.FlagNeedConstraintCheckInPrewrite | memdb.FlagKeyLockedValueExists)
	},
	memdb.DelNeedCheckExists: func(f memdb.Flags) memdb.Flags { return f &^ memdb.FlagNeedCheckExists },
	memdb.SetPrewriteOnly:    func(f memdb.Flags) memdb.Flags { return f | memdb.FlagPrewriteOnly },
	memdb.SetIgnoredIn2PC:    func(f memdb.Flags) memdb.Flags { return f | memdb.FlagIgnoredIn2PC },
	memdb.SetNewlyInserted:   func(f memdb.Flags) memdb.Flags { return f | memdb.FlagNewlyInserted },
	memdb.SetAssertExist: func(f memdb.Flags) memdb.Flags {
		return f&^memdb.FlagAssertNotExist | memdb.FlagAssertExist
	},
	memdb.SetAssertNotExist: func(f memdb.Flags) memdb.Flags {
		return f&^memdb.FlagAssertExist | memdb.FlagAssertNotExist
	},
	memdb.SetAssertUnknown: func(f memdb.Flags) memdb.Flags { return f | memdb.FlagAssertExist | memdb.FlagAssertNotExist },
	memdb.SetAssertNone: func(f memdb.Flags) memdb.Flags {
		return f &^ (memdb.FlagAssertExist | memdb.FlagAssertNotExist)
	},
	memdb.SetNeedConstraintCheckInPrewrite: func(f memdb.Flags) memdb.Flags { return f | memdb.FlagNeedConstraintCheckInPrewrite },
	memdb.DelNeedConstraintCheckInPrewrite: func(f memdb.Flags) memdb.Flags { return f &^ memdb.FlagNeedConstraintCheckInPrewrite },
}

// source feeds the random walk: from a seeded PRNG or from fuzz input.
type source interface {
	intn(n int) int
}

type prng struct{ r *rand.Rand }

func (p prng) intn(n int) int { return p.r.IntN(n) }

type fuzzBytes struct {
	b []byte
	i int
}

func (f *fuzzBytes) intn(n int) int {
	if f.i >= len(f.b) {
		return 0
	}
	v := int(f.b[f.i])
	f.i++
	if n > 256 && f.i < len(f.b) {
		v = v<<8 | int(f.b[f.i])
		f.i++
	}
	return v % n
}

// keySpace has shared prefixes of many lengths (to exercise the index's
// prefix truncation), prefixes of each other, zero bytes and the empty key.
func keySpace(n int, r source) []string {
	prefixes := []string{"", "t\x80\x00\x00\x00\x00\x00\x00\x05_r", "t\x80\x00\x00\x00\x00\x00\x00\x05_i\x80\x00\x00\x00\x00\x00\x00\x01", "a", "ab", "abc\x00"}
	set := map[string]bool{"": true}
	for tries := 0; len(set) < n && tries < 20*n; tries++ {
		p := prefixes[r.intn(len(prefixes))]
		tail := make([]byte, r.intn(12))
		for i := range tail {
			tail[i] = byte(r.intn(4)) * 85
		}
		set[p+string(tail)] = true
	}
	ks := make([]string, 0, len(set))
	for k := range set {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// walk runs steps random operations against a buffer and the model and
// fails at the first difference.
func walk(t *testing.T, r source, steps, nkeys int) {
	t.Helper()
	keys := keySpace(nkeys, r)
	db := memdb.New()
	quiet := 0 // steps left in a spell without ordered reads
	switch {
	case nkeys >= 10_000:
		// Large: hashed almost at once, and a long first spell of writes,
		// so that the first ordered read rebuilds the tree from a large
		// sorted batch.
		memdb.SetHashFrom(db, r.intn(64))
		quiet = steps / 3
	case r.intn(2) == 0:
		// Build the hash index early (even at once) to cover both modes.
		memdb.SetHashFrom(db, r.intn(nkeys+1))
	}
	m := newModel()
	var handles []memdb.StagingHandle
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		tail := log[max(0, len(log)-30):]
		t.Fatalf("after %d ops (last: %s): %s", len(log), strings.Join(tail, "; "), fmt.Sprintf(format, args...))
	}
	randOps := func() []memdb.FlagsOp {
		var ops []memdb.FlagsOp
		for range r.intn(3) {
			ops = append(ops, allOps[r.intn(len(allOps))])
		}
		return ops
	}
	for step := 0; step < steps; step++ {
		k := keys[r.intn(len(keys))]
		op := r.intn(100)
		switch {
		case quiet > 0:
			// Writes pile up unordered past the hash index threshold, so
			// that the next ordered read folds a large batch (a rebuild).
			quiet--
			if op >= 86 {
				op = r.intn(40)
			}
		case op == 99:
			quiet = 20 + r.intn(400)
		}
		switch {
		case op < 40:
			v := []byte(strings.Repeat("v", r.intn(3)) + fmt.Sprint(r.intn(50)))
			if r.intn(10) == 0 {
				v = []byte{}
			}
			ops := randOps()
			log = append(log, fmt.Sprintf("set %q %q %d", k, v, len(ops)))
			if err := db.Set([]byte(k), v, ops...); err != nil {
				fail("set: %v", err)
			}
			m.write(k, v, false, ops)
		case op < 55:
			ops := randOps()
			log = append(log, fmt.Sprintf("del %q %d", k, len(ops)))
			if err := db.Delete([]byte(k), ops...); err != nil {
				fail("delete: %v", err)
			}
			m.write(k, nil, true, ops)
		case op < 65:
			ops := randOps()
			log = append(log, fmt.Sprintf("flags %q %d", k, len(ops)))
			if err := db.UpdateFlags([]byte(k), ops...); err != nil {
				fail("update flags: %v", err)
			}
			m.updateFlags(k, ops)
		case op < 72:
			log = append(log, "staging")
			handles = append(handles, db.Staging())
			m.staging()
		case op < 78 && len(handles) > 0:
			log = append(log, "release")
			if err := db.Release(handles[len(handles)-1]); err != nil {
				fail("release: %v", err)
			}
			handles = handles[:len(handles)-1]
			m.release()
		case op < 84 && len(handles) > 0:
			log = append(log, "cleanup")
			if err := db.Cleanup(handles[len(handles)-1]); err != nil {
				fail("cleanup: %v", err)
			}
			handles = handles[:len(handles)-1]
			m.cleanup()
		case op < 86 && len(handles) > 1:
			// Closing an outer level first is an error and changes nothing.
			if err := db.Release(handles[0]); !errors.Is(err, memdb.ErrStagingHandle) {
				fail("release of outer handle: %v", err)
			}
			if err := db.Cleanup(handles[0]); !errors.Is(err, memdb.ErrStagingHandle) {
				fail("cleanup of outer handle: %v", err)
			}
		default:
			a, b := keys[r.intn(len(keys))], keys[r.intn(len(keys))]
			if r.intn(4) == 0 {
				b = ""
			}
			if b != "" && a > b {
				a, b = b, a
			}
			checkRange(t, db, m, a, b, r.intn(2) == 1, r.intn(2) == 1, r.intn(2) == 1, fail)
		}
		checkPoint(db, m, k, fail)
		if db.Len() != len(m.m) || step%16 == 0 && db.Size() != m.size() {
			fail("len/size %d/%d, model %d/%d", db.Len(), db.Size(), len(m.m), m.size())
		}
	}
	if db.Size() != m.size() {
		fail("size %d, model %d", db.Size(), m.size())
	}
	checkRange(t, db, m, "", "", false, true, true, fail)
	checkRange(t, db, m, "", "", true, true, true, fail)
	checkRange(t, db, m, "", "", false, false, false, fail)
	checkMutations(db, m, fail)
}

func checkPoint(db *memdb.MemDB, m *model, k string, fail func(string, ...any)) {
	want, ok := m.m[k]
	e, got := db.Lookup([]byte(k))
	if ok != got {
		fail("lookup %q: present %v, model %v", k, got, ok)
	}
	if ok && describeEntry(e) != describe(k, want) {
		fail("lookup %q: %s, model %s", k, describeEntry(e), describe(k, want))
	}
	v, found := db.Get([]byte(k))
	if wantFound := ok && want.hasVal && !want.tomb; found != wantFound || found && string(v) != want.val {
		fail("get %q: %q %v, model %+v", k, v, found, want)
	}
	f, fok := db.Flags([]byte(k))
	if fok != ok || f != want.flags {
		fail("flags %q: %x %v, model %x %v", k, f, fok, want.flags, ok)
	}
}

func checkRange(t *testing.T, db *memdb.MemDB, m *model, a, b string, reverse, tombs, flagsOnly bool, fail func(string, ...any)) {
	t.Helper()
	var opts []memdb.IterOption
	if tombs {
		opts = append(opts, memdb.WithTombstones)
	}
	if flagsOnly {
		opts = append(opts, memdb.WithFlagsOnly)
	}
	var it *memdb.Iterator
	if reverse {
		it = db.IterReverse([]byte(a), []byte(b), opts...)
	} else {
		it = db.Iter([]byte(a), []byte(b), opts...)
	}
	var got []string
	for ; it.Valid(); it.Next() {
		got = append(got, describeEntry(it.Entry()))
	}
	if it.Err() != nil {
		fail("iterator: %v", it.Err())
	}
	want := m.rangeOf(a, b, reverse, tombs, flagsOnly)
	if !slices.Equal(got, want) {
		fail("iter [%q, %q) reverse=%v tombs=%v flags=%v:\n got %v\nwant %v", a, b, reverse, tombs, flagsOnly, got, want)
	}
	// The range-over-func forms agree with the iterator.
	seq := db.All([]byte(a), []byte(b))
	if reverse {
		seq = db.Backward([]byte(a), []byte(b))
	}
	var gotSeq []string
	for k, v := range seq {
		gotSeq = append(gotSeq, fmt.Sprintf("%q=%q", k, v))
	}
	var wantSeq []string
	for _, k := range m.sorted() {
		if e := m.m[k]; k >= a && (b == "" || k < b) && e.hasVal && !e.tomb {
			wantSeq = append(wantSeq, fmt.Sprintf("%q=%q", k, e.val))
		}
	}
	if reverse {
		slices.Reverse(wantSeq)
	}
	if !slices.Equal(gotSeq, wantSeq) {
		fail("seq [%q, %q) reverse=%v:\n got %v\nwant %v", a, b, reverse, gotSeq, wantSeq)
	}
}

func checkMutations(db *memdb.MemDB, m *model, fail func(string, ...any)) {
	for _, pessimistic := range []bool{false, true} {
		var got, want []string
		for mu := range db.Mutations(pessimistic) {
			got = append(got, fmt.Sprintf("%s %q %q", mu.Op, mu.Key, mu.Value))
		}
		var gotSet []string
		ms := db.MutationSet(pessimistic)
		for i := range ms.Len() {
			gotSet = append(gotSet, fmt.Sprintf("%s %q %q", ms.Op(i), ms.Key(i), ms.Value(i)))
		}
		if !slices.Equal(got, gotSet) {
			fail("MutationSet pessimistic=%v:\n got %v\nwant %v", pessimistic, gotSet, got)
		}
		for _, k := range m.sorted() {
			e := m.m[k]
			f := e.flags
			if f&memdb.FlagIgnoredIn2PC != 0 {
				continue
			}
			lock := "Lock"
			if f&memdb.FlagKeyLockedInShareMode != 0 {
				lock = "SharedLock"
			}
			locked := f&memdb.FlagKeyLocked != 0
			presume := f&(memdb.FlagPresumeKeyNotExists|memdb.FlagPreviousPresumeKeyNotExists) != 0
			var op, val string
			switch {
			case !e.hasVal && !locked:
				continue
			case !e.hasVal:
				op = lock
			case !e.tomb && presume:
				op, val = "Insert", e.val
			case !e.tomb:
				op, val = "Put", e.val
			case !pessimistic && presume:
				op = "CheckNotExists"
			case f&memdb.FlagNewlyInserted != 0 && !locked:
				continue
			case f&memdb.FlagNewlyInserted != 0:
				op = lock
			default:
				op = "Del"
			}
			if val == "" && (op == "Put" || op == "Insert") {
				want = append(want, fmt.Sprintf("%s %q %q", op, k, []byte{}))
				continue
			}
			if op == "Put" || op == "Insert" {
				want = append(want, fmt.Sprintf("%s %q %q", op, k, []byte(val)))
			} else {
				want = append(want, fmt.Sprintf("%s %q %q", op, k, []byte(nil)))
			}
		}
		if !slices.Equal(got, want) {
			fail("mutations pessimistic=%v:\n got %v\nwant %v", pessimistic, got, want)
		}
	}
}

// TestModel runs random operation sequences against the model. The seed is
// printed so a failure can be replayed with -seed.
func TestModel(t *testing.T) {
	t.Parallel()
	for i, c := range []struct{ steps, keys int }{{300, 8}, {3000, 40}, {6000, 600}, {2000, 3000}, {8000, 20000}} {
		seed := rand.Uint64()
		t.Run(fmt.Sprintf("keys=%d/seed=%d", c.keys, seed), func(t *testing.T) {
			t.Parallel()
			steps := c.steps
			if testing.Short() || raceEnabled {
				steps /= 4
			}
			walk(t, prng{rand.New(rand.NewPCG(seed, uint64(i)))}, steps, c.keys)
		})
	}
}

// FuzzModel drives the same walk from fuzz input.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(bytes.Repeat([]byte{7, 200, 3, 90, 66, 41, 13}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		walk(t, &fuzzBytes{b: b}, len(b)/3, 30)
	})
}
