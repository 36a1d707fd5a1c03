package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tikvsim"
)

var (
	flagSeed      = flag.Int64("peer.seed", 0, "differential test base seed (0: derived from the clock)")
	flagSequences = flag.Int("peer.sequences", 40, "differential test: number of random sequences")
	flagSteps     = flag.Int("peer.steps", 120, "differential test: commands per sequence")
	flagHistory   = flag.Int("peer.history", 25, "differential test: commands shown before a mismatch")
	flagSimBugs   = flag.Bool("peer.simbugs", false, "differential test: also send the requests that hit known tikvsim deviations (simDeviations)")
)

// diffStats counts what a differential run exercised.
type diffStats struct {
	sent     map[CmdType]int
	failed   map[CmdType]int // agreed responses carrying a key error (top level or per pair)
	accepted map[string]int  // acceptedWhenSeen rules that fired
	errKinds map[string]int  // key error kinds seen (agreed)
}

func newDiffStats() *diffStats {
	return &diffStats{sent: map[CmdType]int{}, failed: map[CmdType]int{}, accepted: map[string]int{}, errKinds: map[string]int{}}
}

// runSequence sends one seeded random sequence to both targets and compares
// every answer. It returns a non-empty report on an unexplained mismatch.
func runSequence(ctx context.Context, seed int64, raw bool, steps int, mock, sim Target, stats *diffStats) (string, error) {
	m := newModel(seed, raw, time.Now().UnixMilli())
	var history []string
	for step := range steps {
		c := m.next()
		history = append(history, fmt.Sprintf("%3d %s", step, c.desc))
		var obs [2]observed
		for i, tg := range []Target{mock, sim} {
			req, err := c.request()
			if err != nil {
				return "", err
			}
			resp, err := tg.Send(ctx, req, c.key, c.mode)
			if err != nil {
				return "", fmt.Errorf("step %d %s: %s: %w", step, c.desc, tg.Name(), err)
			}
			v, err := viewOf(c, resp)
			if err != nil {
				return "", err
			}
			obs[i] = observed{resp: resp, view: v}
		}
		stats.sent[c.typ]++
		if !obs[0].view.equal(obs[1].view) {
			d := findAccepted(c, obs[0], obs[1], m)
			if d == nil {
				tail := history[max(0, len(history)-*flagHistory):]
				return fmt.Sprintf("step %d: %s\n  %-8s %s\n  %-8s %s\nlast commands:\n%s", step, c.desc,
					mock.Name(), obs[0].view, sim.Name(), obs[1].view, strings.Join(tail, "\n")), nil
			}
			stats.accepted[d.name]++
		} else {
			kinds := slices.Clone(obs[0].view.Errs)
			for _, it := range obs[0].view.Items {
				if e, ok := strings.CutPrefix(it, "err:"); ok {
					kinds = append(kinds, e)
				}
			}
			if len(kinds) > 0 {
				stats.failed[c.typ]++
			}
			for _, e := range kinds {
				if i := strings.IndexByte(e, '{'); i > 0 {
					stats.errKinds[e[:i]]++
				}
			}
		}
		if c.observe != nil {
			c.observe(obs[0].resp)
		}
	}
	return "", nil
}

// newSimCluster starts a default tikvsim cluster (one PD, three stores, one
// region) and a target on it.
func newSimCluster(t testing.TB) (*tikvsim.Cluster, *SimTarget) {
	t.Helper()
	c, err := tikvsim.Start(t.Context(), tikvsim.Options{})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("tikvsim close: %v", err)
		}
	})
	tg, err := NewSimTarget(t.Context(), c.PDAddrs())
	if err != nil {
		t.Fatalf("NewSimTarget: %v", err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return c, tg
}

// TestDifferential sends random command sequences to the newest client-go's
// mocktikv (served over gRPC by the upstream worker) and to tikvsim, and compares every response after leaving out
// what knownDifferences lists. Each sequence runs on fresh stores.
func TestDifferential(t *testing.T) {
	runDifferential(t, func(t *testing.T) Target {
		_, sim := newSimCluster(t)
		return sim
	})
}

// TestDifferentialHarness runs the same workload against two independent
// mocktikv instances. They must agree on everything, which checks that the
// workload is deterministic for a seed and that the views are stable.
func TestDifferentialHarness(t *testing.T) {
	runDifferential(t, func(t *testing.T) Target { return newMock(t) })
}

func runDifferential(t *testing.T, other func(t *testing.T) Target) {
	base := *flagSeed
	if base == 0 {
		base = time.Now().UnixNano()
	}
	stats := newDiffStats()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("base seed %d: rerun with -peer.seed=%d (sequence i uses seed+i)", base, base)
		}
	})
	for i := range *flagSequences {
		seed := base + int64(i)
		raw := i%4 == 3
		ok := t.Run(fmt.Sprintf("seq%02d", i), func(t *testing.T) {
			mock := newMock(t)
			sim := other(t)
			report, err := runSequence(t.Context(), seed, raw, *flagSteps, mock, sim, stats)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if report != "" {
				t.Fatalf("seed %d (raw=%v): unexplained mismatch at %s\nknown differences:\n%s", seed, raw, report, differencesTable())
			}
		})
		if !ok {
			return
		}
	}
	var sent []string
	for typ, n := range stats.sent {
		sent = append(sent, fmt.Sprintf("%s=%d(failed %d)", typ.String(), n, stats.failed[typ]))
	}
	t.Logf("sent: %s", strings.Join(sent, " "))
	t.Logf("agreed key errors: %v; accepted known differences: %v", stats.errKinds, stats.accepted)
	checkCoverage(t, stats)
}

// checkCoverage fails a run that did not exercise what the differential
// test claims to cover, so a workload change cannot silently hollow it out.
func checkCoverage(t *testing.T, s *diffStats) {
	t.Helper()
	if *flagSequences < 8 || *flagSteps < 60 {
		return // a shortened manual run
	}
	for _, typ := range coveredCmds {
		if s.sent[typ] == 0 {
			t.Errorf("coverage: %s was never sent", typ.String())
		}
	}
	for _, kind := range []string{"locked", "conflict", "already_exist", "txn_not_found", "abort"} {
		if s.errKinds[kind] == 0 {
			t.Errorf("coverage: no agreed %q key error", kind)
		}
	}
}

// coveredCmds are the commands the differential test compares.
var coveredCmds = []CmdType{
	CmdGet, CmdBatchGet, CmdScan, CmdPrewrite, CmdPessimisticLock,
	CmdCommit, CmdCleanup, CmdBatchRollback, CmdCheckTxnStatus,
	CmdScanLock, CmdResolveLock, CmdDeleteRange, CmdPessimisticRollback,
	CmdTxnHeartBeat, CmdRawGet, CmdRawBatchGet, CmdRawPut, CmdRawBatchPut, CmdRawDelete,
	CmdRawBatchDelete, CmdRawDeleteRange, CmdRawScan, CmdRawCompareAndSwap,
}
