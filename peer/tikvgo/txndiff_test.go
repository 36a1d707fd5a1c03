package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tikvsim"
)

var (
	flagTxnSeeds = flag.Int("txndiff.seeds", 40, "TestTxnDifferential: number of schedules (seeds base..base+N-1)")
	flagTxnSteps = flag.Int("txndiff.steps", 40, "TestTxnDifferential: steps per schedule (before the open transactions are finished)")
	flagTxnBase  = flag.Int64("txndiff.seed", 1, "TestTxnDifferential: first seed")
)

// txnWorkerSlack bounds how long the upstream worker may take for one
// schedule: every step is bounded, so this only catches a hung worker.
const txnWorkerSlack = 5 * time.Minute

// TestTxnDifferential runs seeded transactional schedules (peer.TxnSchedule:
// optimistic and pessimistic transactions, 2PC, async commit and 1PC, reads
// at an earlier transaction's start ts, conflicting writers, Insert on an
// existing key, no-wait and waiting lock requests, deadlocks) through the
// newest client-go's txnkv (the upstream worker's -txnsched mode) and
// through tikvgo's txnkv (in process), each against a fresh tikvsim cluster
// of its own, and requires the same read results, the same error class per
// step and the same committed state at the end, except where
// txnDifferences lists an intended difference. It also fails if tikvsim
// answered any method client-go sent Unimplemented.
func TestTxnDifferential(t *testing.T) {
	t.Parallel()
	w := startTxnWorker(t)
	stats := newTxnDiffStats()
	start := time.Now()
	for i := range *flagTxnSeeds {
		seed := *flagTxnBase + int64(i)
		if !t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { runTxnSeed(t, w, seed, stats) }) {
			break
		}
	}
	t.Logf("%d schedules, %d steps in %v; agreed results by step kind and class: %s",
		stats.schedules, stats.steps, time.Since(start).Round(time.Millisecond), stats.table())
	t.Logf("accepted intended differences: %v; async steps that ended before waiting: %d", stats.accepted, stats.early)
	checkTxnCoverage(t, stats)
	if len(stats.unexpected) > 0 {
		t.Logf("steps where both clients disagree with the generator's expectation:\n  %s", strings.Join(stats.unexpected, "\n  "))
	}
	if bad := stats.rec.unserved(); len(bad) > 0 {
		t.Errorf("tikvsim answered client-go Unimplemented for:\n  %s", strings.Join(bad, "\n  "))
	}
}

// checkTxnCoverage fails a default-size run that did not see every outcome
// the test claims to compare, so a generator change cannot hollow it out.
func checkTxnCoverage(t *testing.T, s *txnDiffStats) {
	t.Helper()
	if *flagTxnSeeds < 40 || *flagTxnSteps < 40 {
		return // a shortened manual run
	}
	for _, want := range []string{
		"commit/" + peer.ClassWriteConflict, "commit/" + peer.ClassKeyExists,
		"lock.long/" + peer.ClassWriteConflict, // an async waiter released by the holder's commit or rollback
		"lock.long/" + peer.ClassDeadlock, "lock.short/" + peer.ClassLockWaitTimeout, "lock.nowait/" + peer.ClassLockNoWait,
		"snap.get/" + peer.ClassNone, "snap.scan/" + peer.ClassNone,
	} {
		if s.agreed[want] == 0 {
			t.Errorf("coverage: no agreed %s", want)
		}
	}
}

func runTxnSeed(t *testing.T, w *txnWorker, seed int64, stats *txnDiffStats) {
	s := peer.GenerateTxnSchedule(seed, *flagTxnSteps)
	upCluster := startSim(t, tikvsim.Options{})
	defer upCluster.OnRPC(stats.rec.add)()
	tgCluster := startSim(t, tikvsim.Options{})
	var tg peer.TxnOutcome
	var wg sync.WaitGroup
	wg.Go(func() {
		tg = runTxnSchedule(t.Context(), peer.TxnSchedRequest{PD: tgCluster.PDAddrs(), LockWaitStore: tgCluster.StoreAddrs()[0], Schedule: s})
	})
	up, err := w.run(peer.TxnSchedRequest{PD: upCluster.PDAddrs(), LockWaitStore: upCluster.StoreAddrs()[0], Schedule: s})
	wg.Wait()
	if err != nil {
		t.Fatalf("seed %d: upstream worker: %v", seed, err)
	}
	if report := compareTxnOutcomes(s, up, tg, stats); report != "" {
		t.Fatalf("seed %d: the clients disagree (rerun with -txndiff.seed=%d -txndiff.seeds=1 -txndiff.steps=%d):\n%s\nintended differences:\n%s",
			seed, seed, *flagTxnSteps, report, txnDifferencesTable())
	}
}

// compareTxnOutcomes returns a report of every unexplained disagreement
// between client-go's outcome (up) and tikvgo's (tg), or "".
func compareTxnOutcomes(s *peer.TxnSchedule, up, tg peer.TxnOutcome, stats *txnDiffStats) string {
	var bad []string
	diverged := false
	if up.Failed != "" || tg.Failed != "" {
		bad = append(bad, fmt.Sprintf("run failed: client-go: %q, tikvgo: %q", up.Failed, tg.Failed))
	} else if len(up.Steps) != len(s.Steps) || len(tg.Steps) != len(s.Steps) {
		bad = append(bad, fmt.Sprintf("results for %d and %d of %d steps", len(up.Steps), len(tg.Steps), len(s.Steps)))
	} else {
	steps:
		for i, st := range s.Steps {
			a, b := up.Steps[i], tg.Steps[i]
			if a.Early || b.Early {
				stats.early++
			}
			if a.Class == b.Class && slices.Equal(a.Values, b.Values) {
				stats.agree(st, a)
				if want, _, ok := strings.Cut(st.Expect, ":"); ok && want != a.Class {
					stats.unexpected = append(stats.unexpected, fmt.Sprintf("seed %d step %d %s: both %s", s.Seed, i, st, a))
				}
				continue
			}
			if d := findTxnDifference(s, i, up, tg); d != nil {
				stats.accepted[d.name]++
				if d.diverges {
					// The committed states differ from here on.
					diverged = true
					break steps
				}
				continue
			}
			bad = append(bad, fmt.Sprintf("step %d %s:\n    client-go: %s\n    tikvgo:    %s", i, st, a, b))
		}
		if !diverged && !slices.Equal(up.Final, tg.Final) {
			bad = append(bad, fmt.Sprintf("final state:\n    client-go: %v\n    tikvgo:    %v", up.Final, tg.Final))
		}
	}
	stats.schedules++
	stats.steps += len(s.Steps)
	if len(bad) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(strings.Join(bad, "\n"))
	b.WriteString("\nschedule:\n")
	b.WriteString(s.String())
	b.WriteString("results (client-go | tikvgo):\n")
	for i := range s.Steps {
		var a, c peer.TxnStepResult
		if i < len(up.Steps) {
			a = up.Steps[i]
		}
		if i < len(tg.Steps) {
			c = tg.Steps[i]
		}
		mark := " "
		if a.Class != c.Class || !slices.Equal(a.Values, c.Values) {
			mark = "*"
		}
		fmt.Fprintf(&b, "%s%3d %s | %s\n", mark, i, a, c)
	}
	fmt.Fprintf(&b, "final: client-go %v | tikvgo %v\n", up.Final, tg.Final)
	return b.String()
}

// txnDiffStats counts what a run compared.
type txnDiffStats struct {
	schedules, steps int
	early            int            // async steps one of the clients ended before TiKV listed them waiting
	unexpected       []string       // steps where both clients agree but not with the generator's model
	agreed           map[string]int // "op/class"
	accepted         map[string]int // intended differences that fired
	rec              *rpcRecorder   // client-go's gRPC calls to its clusters
}

func newTxnDiffStats() *txnDiffStats {
	return &txnDiffStats{agreed: map[string]int{}, accepted: map[string]int{}, rec: newRPCRecorder()}
}

func (s *txnDiffStats) agree(st peer.TxnStep, r peer.TxnStepResult) {
	op := string(st.Op)
	if st.Snap {
		op = "snap." + op
	}
	if st.Op == peer.OpLock {
		op += "." + string(st.Wait)
	}
	s.agreed[op+"/"+r.Class]++
}

func (s *txnDiffStats) table() string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range s.agreed {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, s.agreed[k])
	}
	return strings.Join(parts, " ")
}

// txnWorker is the upstream worker in -txnsched mode, shared by every
// schedule of a test run (each schedule builds its own client inside it).
type txnWorker struct {
	mu    sync.Mutex
	in    io.WriteCloser
	lines chan []byte
	done  chan error
}

func startTxnWorker(t *testing.T) *txnWorker {
	t.Helper()
	bin, err := upstreamBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-txnsched", "-log-level", "fatal")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &txnWorker{in: in, lines: make(chan []byte), done: make(chan error, 1)}
	go func() {
		r := bufio.NewReaderSize(out, 1<<20)
		for {
			l, err := r.ReadBytes('\n')
			if err != nil {
				break
			}
			w.lines <- l
		}
		close(w.lines)
		w.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = w.in.Close()
		go func() {
			for range w.lines {
			}
		}()
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("upstream worker: %v", err)
			}
		case <-time.After(workerSlack):
			_ = cmd.Process.Kill()
			t.Errorf("upstream worker did not exit within %v of its stdin closing", workerSlack)
			<-w.done
		}
	})
	return w
}

// run sends one schedule and waits for its outcome.
func (w *txnWorker) run(req peer.TxnSchedRequest) (peer.TxnOutcome, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return peer.TxnOutcome{}, err
	}
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return peer.TxnOutcome{}, err
	}
	timer := time.NewTimer(txnWorkerSlack)
	defer timer.Stop()
	select {
	case l, ok := <-w.lines:
		if !ok {
			return peer.TxnOutcome{}, fmt.Errorf("upstream worker exited")
		}
		var out peer.TxnOutcome
		if err := json.Unmarshal(l, &out); err != nil {
			return peer.TxnOutcome{}, fmt.Errorf("upstream worker said %q: %w", l, err)
		}
		return out, nil
	case <-timer.C:
		return peer.TxnOutcome{}, fmt.Errorf("no outcome within %v", txnWorkerSlack)
	}
}

// txnDifference is an intended difference between the two clients: a step
// where they may legitimately disagree, and why.
type txnDifference struct {
	name   string
	reason string
	// match reports whether the difference explains the results of step i
	// (client-go's up.Steps[i], tikvgo's tg.Steps[i]).
	match func(s *peer.TxnSchedule, i int, up, tg peer.TxnOutcome) bool
	// diverges: after the step the clients' committed states differ, so
	// the later steps and the final state of the schedule are not compared.
	diverges bool
}

// txnDifferences lists the intended differences.
var txnDifferences = []txnDifference{
	{
		name: "pessimistic-unlocked-write-after-failed-lock",
		reason: "a pessimistic transaction whose every LockKeys failed commits a key it wrote without locking it, " +
			"and another transaction committed that key after its start ts (or it Inserted a key that exists). client-go " +
			"takes a for-update ts when it tries to lock (committer.forUpdateTS is set before the lock request is sent, and " +
			"kept when it fails), so its prewrite goes TiKV's pessimistic path, which checks neither conflicts nor existence " +
			"on unlocked keys, and it commits over the newer write. tikvgo has no for-update ts until a lock succeeds, so its " +
			"prewrite goes TiKV's optimistic path, which checks every key against the start ts, and it reports the write " +
			"conflict (or key exists) instead of losing the other update",
		match: func(s *peer.TxnSchedule, i int, up, tg peer.TxnOutcome) bool {
			st := s.Steps[i]
			if st.Op != peer.OpCommit || !s.Txns[st.Txn].Pessimistic ||
				up.Steps[i].Class != peer.ClassNone ||
				(tg.Steps[i].Class != peer.ClassWriteConflict && tg.Steps[i].Class != peer.ClassKeyExists) {
				return false
			}
			tried := false
			for j, o := range s.Steps[:i] {
				if o.Txn == st.Txn && !o.Snap && o.Op == peer.OpLock {
					if tg.Steps[j].Class == peer.ClassNone || up.Steps[j].Class == peer.ClassNone {
						return false // it held a lock: both prewrite the pessimistic way
					}
					tried = true
				}
			}
			return tried
		},
		diverges: true,
	},
}

func findTxnDifference(s *peer.TxnSchedule, i int, up, tg peer.TxnOutcome) *txnDifference {
	for k := range txnDifferences {
		if txnDifferences[k].match(s, i, up, tg) {
			return &txnDifferences[k]
		}
	}
	return nil
}

func txnDifferencesTable() string {
	if len(txnDifferences) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, d := range txnDifferences {
		fmt.Fprintf(&b, "  %s: %s\n", d.name, d.reason)
	}
	return b.String()
}

// TestTxnDifferentialDetects: the comparison notices a changed read, a
// changed error class and a changed final state, and prints the schedule.
func TestTxnDifferentialDetects(t *testing.T) {
	t.Parallel()
	s := &peer.TxnSchedule{Seed: 1, Keys: []string{"k0"}, Txns: []peer.TxnSpec{{Commit: peer.Commit2PC}},
		Steps: []peer.TxnStep{{Txn: 0, Op: peer.OpBegin}, {Txn: 0, Op: peer.OpGet, Keys: []string{"k0"}}, {Txn: 0, Op: peer.OpCommit}}}
	base := peer.TxnOutcome{Steps: []peer.TxnStepResult{{Class: peer.ClassNone}, {Class: peer.ClassNone, Values: []string{"k0=-"}}, {Class: peer.ClassNone}}, Final: []string{}}
	if r := compareTxnOutcomes(s, base, base, newTxnDiffStats()); r != "" {
		t.Fatalf("identical outcomes reported:\n%s", r)
	}
	for name, change := range map[string]func(o *peer.TxnOutcome){
		"read":  func(o *peer.TxnOutcome) { o.Steps[1].Values = []string{"k0=v1"} },
		"class": func(o *peer.TxnOutcome) { o.Steps[2].Class = peer.ClassWriteConflict },
		"final": func(o *peer.TxnOutcome) { o.Final = []string{"k0=v1"} },
	} {
		other := base
		other.Steps = slices.Clone(base.Steps)
		change(&other)
		r := compareTxnOutcomes(s, base, other, newTxnDiffStats())
		if r == "" || !strings.Contains(r, "schedule:") || !strings.Contains(r, "T0 get k0") {
			t.Errorf("%s: report %q", name, r)
		}
	}
}
