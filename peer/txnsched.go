package peer

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"time"
)

// A transactional schedule is a seeded, totally ordered list of steps of a
// few concurrent logical transactions over a handful of keys. Both peer
// workers run the same schedule one step at a time against fresh tikvsim
// clusters (RunTxnSchedule), so the two clients see the same interleaving,
// and peer/tikvgo's TestTxnDifferential compares what they observed.
//
// Timestamps never appear in a schedule: a read "at an old ts" names the
// transaction whose start ts it reads at, and each driver resolves that to
// its own cluster's timestamp.

// Commit protocols a transaction asks for.
const (
	Commit2PC   = "2pc"
	CommitAsync = "async"
	Commit1PC   = "1pc"
)

// TxnOp is what a step does.
type TxnOp string

// Step operations.
const (
	OpBegin    TxnOp = "begin"
	OpGet      TxnOp = "get"      // one key
	OpBatchGet TxnOp = "batchget" // the step's keys
	OpScan     TxnOp = "scan"     // the schedule's whole range
	OpSet      TxnOp = "set"
	OpDelete   TxnOp = "delete"
	OpInsert   TxnOp = "insert" // set on condition the key does not exist (checked at commit)
	OpLock     TxnOp = "lock"   // pessimistic LockKeys at a fresh for-update ts
	OpCommit   TxnOp = "commit"
	OpRollback TxnOp = "rollback"
)

// LockWait is how a lock step waits for another transaction's lock.
type LockWait string

// Lock waits.
const (
	// WaitNone fails at once on a key another transaction holds.
	WaitNone LockWait = "nowait"
	// WaitShort waits ShortLockWait, long enough to be queued in TiKV,
	// short enough that the schedule expects it to time out.
	WaitShort LockWait = "short"
	// WaitLong waits up to LongLockWait: the schedule expects the holder to
	// release the key (a later step) or TiKV to report a deadlock first.
	WaitLong LockWait = "long"
)

// Lock wait bounds the drivers use for WaitShort and WaitLong.
const (
	ShortLockWait = 100 * time.Millisecond
	LongLockWait  = 5 * time.Second
)

// Error classes a step's result is compared by. Each driver maps its
// client's own typed errors to them.
const (
	ClassNone            = "none"
	ClassWriteConflict   = "write-conflict"
	ClassKeyExists       = "key-exists"
	ClassDeadlock        = "deadlock"
	ClassLockWaitTimeout = "lock-wait-timeout"
	ClassLockNoWait      = "lock-no-wait"
	ClassOther           = "other"
)

// TxnSpec is one logical transaction of a schedule.
type TxnSpec struct {
	Pessimistic bool   `json:"pessimistic,omitempty"`
	Commit      string `json:"commit"` // Commit2PC, CommitAsync or Commit1PC
}

// TxnStep is one step of a schedule.
type TxnStep struct {
	// Txn is the transaction (index in TxnSchedule.Txns) the step runs in;
	// with Snap, the one whose start ts a snapshot read reads at.
	Txn   int      `json:"txn"`
	Op    TxnOp    `json:"op"`
	Keys  []string `json:"keys,omitempty"`
	Value string   `json:"value,omitempty"`
	// Snap: a read (get, batchget, scan) through a new snapshot at the
	// start ts of Txns[Txn], which began earlier, outside any transaction.
	Snap bool     `json:"snap,omitempty"`
	Wait LockWait `json:"wait,omitempty"` // lock steps
	// Async: a lock step that blocks on another transaction's lock. The
	// driver starts it, waits until TiKV lists it as waiting (or it ends),
	// and goes on; it must have finished once step DoneBy (the holder's
	// commit or rollback) has run.
	Async  bool `json:"async,omitempty"`
	DoneBy int  `json:"done_by,omitempty"`
	// Expect is what the generator expects, for people reading a report.
	Expect string `json:"expect,omitempty"`
}

// TxnSchedule is a whole schedule: the keys, the transactions and the
// steps in their one order. Range is the [start, end) that scans and the
// final state cover.
type TxnSchedule struct {
	Seed  int64     `json:"seed"`
	Keys  []string  `json:"keys"`
	Range [2]string `json:"range"`
	Txns  []TxnSpec `json:"txns"`
	Steps []TxnStep `json:"steps"`
}

// TxnStepResult is what one step observed.
type TxnStepResult struct {
	Class string `json:"class"`
	// Text is the error's text (any class but none); only the class is
	// compared.
	Text string `json:"text,omitempty"`
	// Values are a read's results, "key=value" or "key=-" for an absent
	// key, in key order.
	Values []string `json:"values,omitempty"`
	// Early: an async step that ended before TiKV listed it as waiting.
	Early bool `json:"early,omitempty"`
}

// TxnOutcome is one client's run of a schedule: a result per step and the
// committed state of the range at the end ("key=value", in key order).
type TxnOutcome struct {
	Client string          `json:"client"`
	Steps  []TxnStepResult `json:"steps"`
	Final  []string        `json:"final"`
	// Failed says why the run could not be completed (setup, or a step
	// that never finished); a failed outcome is not compared.
	Failed string `json:"failed,omitempty"`
}

// TxnSchedRequest is one line a -txnsched worker reads: a schedule and
// the cluster to run it on.
type TxnSchedRequest struct {
	PD []string `json:"pd"`
	// LockWaitStore is the address of a store the driver asks
	// GetLockWaitInfo to see an async lock step queued.
	LockWaitStore string       `json:"lock_wait_store"`
	Schedule      *TxnSchedule `json:"schedule"`
}

// genTxn is the generator's model of one transaction.
type genTxn struct {
	spec     TxnSpec
	state    int // txnIdle, txnActive, txnBlocked, txnDone
	locks    map[string]bool
	writes   map[string]bool
	inserted map[string]bool // pessimistic: Inserts it never locks (a lock may fail on them)
	waitKey  string          // txnBlocked: the key it waits on
	waitStep int             // txnBlocked: its async lock step
}

const (
	txnIdle = iota
	txnActive
	txnBlocked
	txnDone
)

type txnGen struct {
	r      *rand.Rand
	s      *TxnSchedule
	txns   []*genTxn
	next   int            // next transaction to begin
	holder map[string]int // key -> transaction holding its pessimistic lock
	waiter map[string]int // key -> transaction waiting on it
}

// maxActiveTxns is how many transactions a schedule keeps open at once.
const maxActiveTxns = 3

// GenerateTxnSchedule returns the schedule of seed with about steps steps
// (more when finishing the open transactions takes more). It models the
// pessimistic locks each transaction holds so that it knows which lock
// steps block (made async, finished by the holder's commit or rollback),
// which are deadlocks, and never lets a commit meet a live lock of a
// transaction that is not finishing (it would wait for its TTL).
func GenerateTxnSchedule(seed int64, steps int) *TxnSchedule {
	r := rand.New(rand.NewSource(seed))
	nKeys := 3 + r.Intn(2)
	s := &TxnSchedule{Seed: seed, Range: [2]string{"k", "l"}}
	for i := range nKeys {
		s.Keys = append(s.Keys, fmt.Sprintf("k%d", i))
	}
	g := &txnGen{r: r, s: s, holder: map[string]int{}, waiter: map[string]int{}}
	for len(s.Steps) < steps {
		g.step(false)
	}
	for g.step(true) {
	}
	return s
}

// newTxn adds a transaction of random kind and commit protocol.
func (g *txnGen) newTxn() {
	spec := TxnSpec{Pessimistic: g.r.Intn(2) == 0, Commit: []string{Commit2PC, CommitAsync, Commit1PC}[g.r.Intn(3)]}
	g.s.Txns = append(g.s.Txns, spec)
	g.txns = append(g.txns, &genTxn{spec: spec, locks: map[string]bool{}, writes: map[string]bool{}, inserted: map[string]bool{}})
}

// step adds one step; finishing only ends open transactions, and reports
// false when none is left.
func (g *txnGen) step(finishing bool) bool {
	var runnable []int
	active := 0
	for i, t := range g.txns {
		switch t.state {
		case txnActive:
			runnable = append(runnable, i)
			active++
		case txnBlocked:
			active++
		}
	}
	if finishing {
		if len(runnable) == 0 {
			return false
		}
		g.finish(runnable[g.r.Intn(len(runnable))], true)
		return true
	}
	if t, k, ok := g.deadlockPair(); ok && g.r.Intn(2) == 0 {
		g.lockKey(t, k, "")
		return true
	}
	if t, k, ok := g.waitPair(); ok && g.r.Intn(4) == 0 {
		g.lockKey(t, k, WaitLong)
		return true
	}
	canBegin := active < maxActiveTxns
	switch x := g.r.Intn(20); {
	case canBegin && (len(runnable) == 0 || x < 4):
		if g.next == len(g.txns) {
			g.newTxn()
		}
		g.add(TxnStep{Txn: g.next, Op: OpBegin})
		g.txns[g.next].state = txnActive
		g.next++
	case x < 6 && g.next > 0:
		g.read(g.r.Intn(g.next), true)
	default:
		if len(runnable) == 0 {
			return true
		}
		g.txnStep(runnable[g.r.Intn(len(runnable))])
	}
	return true
}

func (g *txnGen) add(st TxnStep) int {
	g.s.Steps = append(g.s.Steps, st)
	return len(g.s.Steps) - 1
}

func (g *txnGen) key() string { return g.s.Keys[g.r.Intn(len(g.s.Keys))] }

// keys returns n distinct keys in key order.
func (g *txnGen) keys(n int) []string {
	ks := slices.Clone(g.s.Keys)
	g.r.Shuffle(len(ks), func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
	ks = ks[:min(n, len(ks))]
	slices.Sort(ks)
	return ks
}

func (g *txnGen) read(txn int, snap bool) {
	switch g.r.Intn(3) {
	case 0:
		g.add(TxnStep{Txn: txn, Op: OpGet, Keys: []string{g.key()}, Snap: snap})
	case 1:
		g.add(TxnStep{Txn: txn, Op: OpBatchGet, Keys: g.keys(2 + g.r.Intn(2)), Snap: snap})
	default:
		g.add(TxnStep{Txn: txn, Op: OpScan, Snap: snap})
	}
}

func (g *txnGen) value() string { return fmt.Sprintf("v%d", len(g.s.Steps)) }

func (g *txnGen) txnStep(i int) {
	t := g.txns[i]
	switch x := g.r.Intn(20); {
	case x < 6:
		g.read(i, false)
	case x < 17:
		if !t.spec.Pessimistic {
			k := g.key()
			t.writes[k] = true
			switch g.r.Intn(5) {
			case 0:
				g.add(TxnStep{Txn: i, Op: OpDelete, Keys: []string{k}})
			case 1:
				g.add(TxnStep{Txn: i, Op: OpInsert, Keys: []string{k}, Value: g.value()})
			default:
				g.add(TxnStep{Txn: i, Op: OpSet, Keys: []string{k}, Value: g.value()})
			}
			return
		}
		// A pessimistic transaction mostly writes keys it holds, as a SQL
		// layer does after SELECT ... FOR UPDATE; sometimes a key nobody
		// holds, which its prewrite then checks for conflicts as an
		// optimistic one would.
		var held []string
		for _, k := range g.s.Keys {
			if t.locks[k] {
				held = append(held, k)
			}
		}
		if k, ok := g.robbable(i); ok && len(held) > 0 && g.r.Intn(4) == 0 {
			// A key another transaction holds, once it holds a lock of its
			// own: its prewrite is then pessimistic and rolls that lock
			// back (see finish).
			t.writes[k] = true
			g.add(TxnStep{Txn: i, Op: OpSet, Keys: []string{k}, Value: g.value()})
			return
		}
		if k := g.key(); g.r.Intn(5) == 0 && !t.locks[k] {
			if _, taken := g.holder[k]; !taken {
				t.writes[k] = true
				op := OpSet
				if g.r.Intn(3) == 0 {
					op = OpInsert
					t.inserted[k] = true
				}
				g.add(TxnStep{Txn: i, Op: op, Keys: []string{k}, Value: g.value()})
				return
			}
		}
		if len(held) == 0 || g.r.Intn(3) == 0 {
			g.lock(i)
			return
		}
		k := held[g.r.Intn(len(held))]
		t.writes[k] = true
		if g.r.Intn(4) == 0 {
			g.add(TxnStep{Txn: i, Op: OpDelete, Keys: []string{k}})
		} else {
			g.add(TxnStep{Txn: i, Op: OpSet, Keys: []string{k}, Value: g.value()})
		}
	default:
		g.finish(i, false)
	}
}

// waitsFor reports whether transaction from waits, through a chain of
// blocked transactions, for transaction to.
func (g *txnGen) waitsFor(from, to int) bool {
	for seen := 0; seen <= len(g.txns); seen++ {
		t := g.txns[from]
		if t.state != txnBlocked {
			return false
		}
		from = g.holder[t.waitKey]
		if from == to {
			return true
		}
	}
	return false
}

// contendedKey picks the key transaction i locks, favouring contention:
// half the time a key whose holder waits for i (a deadlock), else one
// another transaction holds, else any key.
func (g *txnGen) contendedKey(i int) string {
	if g.r.Intn(2) == 0 {
		return g.key()
	}
	var other []string
	for _, k := range g.s.Keys {
		h, ok := g.holder[k]
		if !ok || h == i {
			continue
		}
		if g.waitsFor(h, i) && g.r.Intn(2) == 0 {
			return k
		}
		other = append(other, k)
	}
	if len(other) == 0 {
		return g.key()
	}
	return other[g.r.Intn(len(other))]
}

func (g *txnGen) lock(i int) { g.lockKey(i, g.contendedKey(i), "") }

// waitPair finds a runnable pessimistic transaction holding a key and a key
// another runnable transaction holds with nobody waiting on it: the first
// half of a deadlock pair.
func (g *txnGen) waitPair() (int, string, bool) {
	for i, t := range g.txns {
		if t.state != txnActive || len(t.locks) == 0 {
			continue
		}
		for _, k := range g.s.Keys {
			h, ok := g.holder[k]
			_, queued := g.waiter[k]
			if ok && h != i && !queued && g.txns[h].state == txnActive {
				return i, k, true
			}
		}
	}
	return 0, "", false
}

// deadlockPair finds a runnable transaction that holds a key a blocked one
// waits for while the blocked one holds a key of its own: locking that key
// closes a cycle.
func (g *txnGen) deadlockPair() (int, string, bool) {
	for _, k := range g.s.Keys {
		b, ok := g.holder[k]
		if !ok || g.txns[b].state != txnBlocked {
			continue
		}
		if t := g.holder[g.txns[b].waitKey]; g.txns[t].state == txnActive {
			return t, k, true
		}
	}
	return 0, "", false
}

func (g *txnGen) lockKey(i int, k string, wait LockWait) {
	t := g.txns[i]
	if t.inserted[k] {
		// Locking a key it Inserted checks that the key does not exist; the
		// model cannot tell, and a lock it wrongly thinks held would make a
		// later step wait on a lock nobody releases.
		g.read(i, false)
		return
	}
	h, held := g.holder[k]
	if !held || h == i {
		// Free or already ours: add a free key or two, taken at once.
		ks := []string{k}
		for _, extra := range g.keys(g.r.Intn(3)) {
			if hx, ok := g.holder[extra]; (!ok || hx == i) && extra != k && !t.inserted[extra] {
				ks = append(ks, extra)
			}
		}
		slices.Sort(ks)
		for _, x := range ks {
			t.locks[x] = true
			g.holder[x] = i
		}
		g.add(TxnStep{Txn: i, Op: OpLock, Keys: ks, Wait: WaitLong, Expect: "locked"})
		return
	}
	if wait == "" {
		wait = []LockWait{WaitNone, WaitShort, WaitLong, WaitLong}[g.r.Intn(4)]
	}
	if _, queued := g.waiter[k]; queued && wait == WaitLong {
		// One waiter per key: two woken at once would race for it.
		wait = WaitShort
	}
	st := TxnStep{Txn: i, Op: OpLock, Keys: []string{k}, Wait: wait}
	switch {
	case wait == WaitNone:
		st.Expect = fmt.Sprintf("%s: held by txn %d", ClassLockNoWait, h)
	case g.waitsFor(h, i):
		st.Expect = fmt.Sprintf("%s: txn %d waits for this one", ClassDeadlock, h)
	case wait == WaitShort:
		st.Expect = fmt.Sprintf("%s: held by txn %d", ClassLockWaitTimeout, h)
	default:
		st.Async = true
		st.Expect = fmt.Sprintf("waits for txn %d", h)
		step := g.add(st)
		t.state, t.waitKey, t.waitStep = txnBlocked, k, step
		g.waiter[k] = i
		return
	}
	g.add(st)
}

// finish commits or rolls back transaction i; when finishing the schedule,
// a commit that would meet another transaction's lock becomes a rollback.
func (g *txnGen) finish(i int, finishing bool) {
	t := g.txns[i]
	op := OpCommit
	if g.r.Intn(5) == 0 {
		op = OpRollback
	}
	var robbed []int
	if op == OpCommit {
		// A commit that met another transaction's live lock would wait for
		// it: read instead, or roll back when finishing. A pessimistic
		// prewrite (one that holds a lock, so has a for-update ts) is the
		// exception: TiKV returns the other transaction's
		// pessimistic lock with TTL 0 and the client rolls it back (and that
		// transaction's primary), so the holder's own commit must then fail;
		// it is finished next. Only a holder nobody waits on and that waits
		// on nobody, so no blocked request sees its locks vanish.
		for _, k := range g.s.Keys {
			h, ok := g.holder[k]
			if !t.writes[k] || !ok || h == i {
				continue
			}
			if t.spec.Pessimistic && len(t.locks) > 0 && !finishing && g.txns[h].state == txnActive && !g.waitedOn(h) {
				if !slices.Contains(robbed, h) {
					robbed = append(robbed, h)
				}
				continue
			}
			if !finishing {
				g.read(i, false)
				return
			}
			op, robbed = OpRollback, nil
			break
		}
	}
	step := g.add(TxnStep{Txn: i, Op: op})
	g.release(i, step)
	for _, h := range robbed {
		st := TxnStep{Txn: h, Op: OpCommit, Expect: ClassOther + ": its pessimistic locks were rolled back"}
		for k := range g.txns[h].writes {
			if x, ok := g.holder[k]; ok && x != h {
				// Its commit would meet a third transaction's lock.
				st = TxnStep{Txn: h, Op: OpRollback}
				break
			}
		}
		g.release(h, g.add(st))
	}
}

// robbable returns a key an active transaction other than i holds, which
// nobody waits for.
func (g *txnGen) robbable(i int) (string, bool) {
	for _, k := range g.s.Keys {
		if h, ok := g.holder[k]; ok && h != i && g.txns[h].state == txnActive && !g.waitedOn(h) {
			return k, true
		}
	}
	return "", false
}

// waitedOn reports whether some transaction waits for a lock h holds.
func (g *txnGen) waitedOn(h int) bool {
	for k := range g.waiter {
		if g.holder[k] == h {
			return true
		}
	}
	return false
}

// release marks transaction i done at step and frees its locks, waking
// their waiters.
func (g *txnGen) release(i, step int) {
	t := g.txns[i]
	t.state = txnDone
	for _, k := range g.s.Keys {
		if !t.locks[k] {
			continue
		}
		delete(g.holder, k)
		if w, ok := g.waiter[k]; ok {
			// Woken in TiKV's normal wake-up mode, the waiter gets a write
			// conflict and holds nothing.
			delete(g.waiter, k)
			wt := g.txns[w]
			g.s.Steps[wt.waitStep].DoneBy = step
			g.s.Steps[wt.waitStep].Expect += fmt.Sprintf(", released by step %d", step)
			wt.state, wt.waitKey = txnActive, ""
		}
	}
}

// String prints the schedule one step per line, for reports.
func (s *TxnSchedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, keys %v, txns:", s.Seed, s.Keys)
	for i, t := range s.Txns {
		mode := "optimistic"
		if t.Pessimistic {
			mode = "pessimistic"
		}
		fmt.Fprintf(&b, " T%d=%s/%s", i, mode, t.Commit)
	}
	b.WriteByte('\n')
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "%3d %s\n", i, st.String())
	}
	return b.String()
}

// String describes one step.
func (st TxnStep) String() string {
	var b strings.Builder
	if st.Snap {
		fmt.Fprintf(&b, "snapshot@T%d.start %s", st.Txn, st.Op)
	} else {
		fmt.Fprintf(&b, "T%d %s", st.Txn, st.Op)
	}
	if len(st.Keys) > 0 {
		fmt.Fprintf(&b, " %s", strings.Join(st.Keys, ","))
	}
	if st.Value != "" {
		fmt.Fprintf(&b, "=%s", st.Value)
	}
	if st.Wait != "" {
		fmt.Fprintf(&b, " wait=%s", st.Wait)
	}
	if st.Async {
		fmt.Fprintf(&b, " async(done by %d)", st.DoneBy)
	}
	if st.Expect != "" {
		fmt.Fprintf(&b, "  [%s]", st.Expect)
	}
	return b.String()
}

// String prints a result compactly.
func (r TxnStepResult) String() string {
	s := r.Class
	if len(r.Values) > 0 {
		s += " [" + strings.Join(r.Values, " ") + "]"
	}
	if r.Text != "" {
		s += " (" + r.Text + ")"
	}
	if r.Early {
		s += " early"
	}
	return s
}
