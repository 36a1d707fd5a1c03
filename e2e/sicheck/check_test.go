package sicheck_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/tikvgo/tikvgo/e2e/sicheck"
)

func committed(id int, start, commit uint64, ops ...Op) Txn {
	return Txn{ID: id, Ops: ops, Outcome: Committed, StartTS: start, CommitTS: commit}
}

func aborted(id int, ops ...Op) Txn { return Txn{ID: id, Ops: ops, Outcome: Aborted} }

func unknown(id int, ops ...Op) Txn { return Txn{ID: id, Ops: ops, Outcome: Unknown} }

// mustCheck runs Check and requires exactly one anomaly, of kind want,
// naming the transactions txns (in any rotation for cycles).
func mustFind(t *testing.T, h History, want Kind, txns ...int) Anomaly {
	t.Helper()
	res, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid() || len(res.Anomalies) != 1 || res.Counts[want] != 1 {
		t.Fatalf("want exactly one %s, got %s", want, res)
	}
	a := res.Anomalies[0]
	if a.Kind != want {
		t.Fatalf("want %s, got %s", want, a)
	}
	if !sameCycle(a.Txns, txns) {
		t.Fatalf("%s names %v, want %v", a, a.Txns, txns)
	}
	t.Log(a)
	return a
}

// sameCycle reports whether got is want or a rotation of it.
func sameCycle(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for r := range got {
		if slices.Equal(append(slices.Clone(got[r:]), got[:r]...), want) {
			return true
		}
	}
	return false
}

func edgeKinds(a Anomaly) map[EdgeKind]int {
	m := make(map[EdgeKind]int)
	for _, s := range a.Cycle {
		m[s.Kind]++
	}
	return m
}

func TestG0(t *testing.T) {
	// T1 and T2 append to x and y in opposite orders: x=[1 2], y=[3 4].
	a := mustFind(t, History{
		committed(1, 1, 5, Append("x", 1), Append("y", 4)),
		committed(2, 2, 6, Append("x", 2), Append("y", 3)),
		committed(3, 7, 8, Read("x", 1, 2), Read("y", 3, 4)),
	}, G0, 1, 2)
	if k := edgeKinds(a); k[WW] != 2 || len(k) != 1 {
		t.Fatalf("G0 cycle %v is not all ww", a.Cycle)
	}
}

func TestG1a(t *testing.T) {
	a := mustFind(t, History{
		aborted(1, Append("x", 1)),
		committed(2, 3, 4, Read("x", 1)),
	}, G1a, 2, 1)
	if a.Key != "x" || a.Value != 1 {
		t.Fatalf("G1a names %q/%d", a.Key, a.Value)
	}
}

func TestG1b(t *testing.T) {
	a := mustFind(t, History{
		committed(1, 1, 2, Append("x", 1), Append("x", 2)),
		committed(2, 3, 4, Read("x", 1)),
		committed(3, 5, 6, Read("x", 1, 2)),
	}, G1b, 2, 1)
	if a.Value != 1 {
		t.Fatalf("G1b names element %d", a.Value)
	}
}

func TestG1c(t *testing.T) {
	// Each transaction read the other's append: circular information flow.
	a := mustFind(t, History{
		committed(1, 1, 3, Append("x", 1), Read("y", 2)),
		committed(2, 2, 4, Append("y", 2), Read("x", 1)),
		committed(3, 5, 6, Read("x", 1), Read("y", 2)),
	}, G1c, 1, 2)
	if k := edgeKinds(a); k[WR] != 2 {
		t.Fatalf("G1c cycle %v", a.Cycle)
	}
}

func TestGSingleReadSkew(t *testing.T) {
	// T3 sees T2's append to y but not its append to x.
	a := mustFind(t, History{
		committed(1, 1, 2, Append("x", 1), Append("y", 2)),
		committed(2, 3, 5, Append("x", 3), Append("y", 4)),
		committed(3, 4, 6, Read("x", 1), Read("y", 2, 4)),
		committed(4, 7, 8, Read("x", 1, 3), Read("y", 2, 4)),
	}, GSingle, 3, 2)
	if k := edgeKinds(a); k[RW] != 1 || k[WR] != 1 {
		t.Fatalf("G-single cycle %v", a.Cycle)
	}
}

func TestGSingleLostUpdate(t *testing.T) {
	// T2 read x=[1] but its append landed after T3's: a lost update, which
	// first-committer-wins prevents.
	mustFind(t, History{
		committed(1, 1, 2, Append("x", 1)),
		committed(2, 3, 6, Read("x", 1), Append("x", 2)),
		committed(3, 4, 5, Read("x", 1), Append("x", 3)),
		committed(4, 7, 8, Read("x", 1, 3, 2)),
	}, GSingle, 2, 3)
}

func TestIncompatibleOrder(t *testing.T) {
	a := mustFind(t, History{
		committed(1, 0, 0, Append("x", 1)),
		committed(2, 0, 0, Append("x", 2)),
		committed(3, 0, 0, Read("x", 1)),
		committed(4, 0, 0, Read("x", 2)),
	}, IncompatibleOrder, 4, 3)
	if len(a.Reads) != 2 {
		t.Fatalf("reads %v", a.Reads)
	}
}

func TestDuplicate(t *testing.T) {
	mustFind(t, History{
		committed(1, 1, 2, Append("x", 1)),
		committed(2, 3, 4, Read("x", 1, 1)),
	}, Duplicate, 2)
}

func TestGarbage(t *testing.T) {
	a := mustFind(t, History{
		committed(1, 1, 2, Append("x", 1)),
		committed(2, 3, 4, Read("x", 1, 99)),
	}, Garbage, 2)
	if a.Value != 99 {
		t.Fatalf("garbage names %d", a.Value)
	}
}

func TestLostWrite(t *testing.T) {
	a := mustFind(t, History{
		committed(1, 1, 2, Append("x", 1)),
		committed(2, 3, 4, Append("x", 2)),
		committed(3, 5, 6, Read("x", 2)),
	}, LostWrite, 1, 3)
	if a.Value != 1 {
		t.Fatalf("lost write names %d", a.Value)
	}
}

func TestValidSIHistories(t *testing.T) {
	cases := map[string]History{
		"write skew (G2-item)": {
			committed(1, 1, 2, Append("x", 1), Append("y", 2)),
			committed(2, 3, 5, Read("x", 1), Read("y", 2), Append("x", 3)),
			committed(3, 4, 6, Read("x", 1), Read("y", 2), Append("y", 4)),
			committed(4, 7, 8, Read("x", 1, 3), Read("y", 2, 4)),
		},
		"unknown commit observed": {
			unknown(1, Append("x", 1)),
			committed(2, 3, 4, Read("x", 1)),
		},
		"unknown commit never observed": {
			unknown(1, Append("x", 1)),
			committed(2, 3, 4, Read("x")),
		},
		"aborted append not observed": {
			aborted(1, Append("x", 1)),
			committed(2, 1, 3, Append("x", 2)),
			committed(3, 4, 5, Read("x", 2)),
		},
		"own appends read back": {
			committed(1, 1, 2, Append("x", 1)),
			committed(2, 3, 4, Read("x", 1), Append("x", 2), Read("x", 1, 2), Append("x", 3), Read("x", 1, 2, 3)),
			committed(3, 5, 6, Read("x", 1, 2, 3)),
		},
		"reads of aborted transactions ignored": {
			committed(1, 1, 2, Append("x", 1)),
			aborted(2, Read("x", 7, 7)),
		},
		"no timestamps": {
			committed(1, 0, 0, Append("x", 1)),
			committed(2, 0, 0, Read("x")),
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := Check(h)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Valid() {
				t.Fatalf("valid SI history rejected: %s", res)
			}
		})
	}
}

func TestBadHistory(t *testing.T) {
	for name, h := range map[string]History{
		"repeated ID":     {committed(1, 1, 2), committed(1, 3, 4)},
		"element twice":   {committed(1, 1, 2, Append("x", 1)), committed(2, 3, 4, Append("x", 1))},
		"no outcome":      {{ID: 1}},
		"unknown op kind": {committed(1, 1, 2, Op{Key: "x"})},
	} {
		if _, err := Check(h); !errors.Is(err, ErrBadHistory) {
			t.Errorf("%s: got %v, want ErrBadHistory", name, err)
		}
	}
}

// serialHistory executes random transactions one after another against a
// map, so every history it returns is serializable and hence SI.
func serialHistory(rng *rand.Rand, txns, keys int) History {
	state := make(map[string][]int)
	next := make(map[string]int)
	var h History
	var clock uint64
	key := func() string { return Key("", rng.IntN(keys)) }
	for id := 1; id <= txns; id++ {
		clock++
		t := Txn{ID: id, StartTS: clock}
		buf := make(map[string][]int)
		for range 1 + rng.IntN(5) {
			k := key()
			cur, ok := buf[k]
			if !ok {
				cur = state[k]
			}
			if rng.IntN(2) == 0 {
				t.Ops = append(t.Ops, Read(k, slices.Clone(cur)...))
				continue
			}
			next[k]++
			t.Ops = append(t.Ops, Append(k, next[k]))
			buf[k] = append(slices.Clone(cur), next[k])
		}
		apply := true
		switch p := rng.IntN(10); {
		case p < 2:
			t.Outcome, apply = Aborted, false
		case p < 3:
			t.Outcome, apply = Unknown, rng.IntN(2) == 0
		default:
			t.Outcome = Committed
			clock++
			t.CommitTS = clock
		}
		if apply {
			clock++
			for k, l := range buf {
				state[k] = l
			}
		}
		h = append(h, t)
	}
	clock++
	final := Txn{ID: txns + 1, StartTS: clock, Outcome: Committed, CommitTS: clock + 1}
	for i := range keys {
		final.Ops = append(final.Ops, Read(Key("", i), state[Key("", i)]...))
	}
	h = append(h, final)
	rng.Shuffle(len(h), func(i, j int) { h[i], h[j] = h[j], h[i] })
	return h
}

func TestSerialHistoriesAccepted(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 0))
		h := serialHistory(rng, 5+rng.IntN(60), 1+rng.IntN(5))
		res, err := Check(h)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid() {
			t.Fatalf("seed %d: serial history rejected: %s\n%v", seed, res, h)
		}
	}
}

func TestShortestCycleReported(t *testing.T) {
	// T2 and T3 form a two-step G-single on x; T2, T3 and T4 also form a
	// longer one through y and z. The checker reports the shorter.
	res, err := Check(History{
		committed(1, 1, 2, Append("x", 1), Append("y", 1), Append("z", 1)),
		committed(2, 3, 6, Read("x", 1), Read("y", 1, 2), Append("x", 2)),
		committed(3, 4, 5, Read("x", 1), Append("x", 3), Append("y", 2)),
		committed(4, 7, 8, Read("x", 1, 3, 2), Read("y", 1, 2), Read("z", 1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	gs := res.Of(GSingle)
	if len(gs) != 1 || len(gs[0].Cycle) != 2 {
		t.Fatalf("want one two-step G-single, got %s", res)
	}
}

func TestExamplesCapped(t *testing.T) {
	h := History{committed(1, 1, 2, Append("x", 1))}
	for i := range 3 * MaxExamples {
		h = append(h, committed(2+i, 3, 4, Read("x", 1, 1000+i)))
	}
	res, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[Garbage] != 3*MaxExamples || len(res.Of(Garbage)) != MaxExamples {
		t.Fatalf("counts %v, %d examples", res.Counts, len(res.Of(Garbage)))
	}
}
