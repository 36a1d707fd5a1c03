package e2e_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikv"
)

// trafficOpTimeout bounds one call of the background traffic: short, so a
// call stuck on a dead store gives way to the next one.
const trafficOpTimeout = 2 * time.Second

// traffic keeps writing and reading while a test injects a fault. Worker w
// owns keys[w] and writes 1, 2, 3, ... to it, remembering the last value TiKV
// acknowledged and every value whose Put failed, so the test can check
// afterwards that no acknowledged write was lost and nothing unwritten
// appeared. A failed Put has an unknown outcome: TiKV may apply it late,
// even after a later Put was acknowledged, so a failed value may win.
type traffic struct {
	raw  *tikv.RawClient
	keys [][]byte

	healed  atomic.Bool    // set by the test once the fault is over
	okAfter []atomic.Int64 // per worker: successful Put+Get rounds since healed
	failed  atomic.Int64   // failed calls, for the log

	acked  []int64          // per worker: last acknowledged value; read only after stop
	unsure []map[int64]bool // per worker: values whose Put failed; read only after stop

	violations [][]string // per worker: reads no write explains; read only after stop

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// startTraffic runs one writer per key, plus, with withTSO, a goroutine
// asking for timestamps (which keeps the PD leader in use). It stops when
// the test ends at the latest.
func startTraffic(t *testing.T, cli *tikv.Client, keys [][]byte, withTSO bool) *traffic {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &traffic{raw: cli.Raw(), keys: keys, stop: cancel,
		okAfter: make([]atomic.Int64, len(keys)),
		acked:   make([]int64, len(keys)), unsure: make([]map[int64]bool, len(keys)),
		violations: make([][]string, len(keys))}
	for w := range keys {
		tr.unsure[w] = map[int64]bool{}
		tr.wg.Go(func() { tr.write(ctx, w) })
	}
	if withTSO {
		tr.wg.Go(func() {
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(ctx, trafficOpTimeout)
				if _, err := cli.CurrentTS(cctx); err != nil && ctx.Err() == nil {
					tr.failed.Add(1)
				}
				ccancel()
			}
		})
	}
	t.Cleanup(tr.halt)
	return tr
}

func (tr *traffic) write(ctx context.Context, w int) {
	for n := int64(1); ctx.Err() == nil; n++ {
		cctx, cancel := context.WithTimeout(ctx, trafficOpTimeout)
		err := tr.raw.Put(cctx, tr.keys[w], strconv.AppendInt(nil, n, 10))
		if err != nil {
			tr.unsure[w][n] = true
		} else {
			tr.acked[w] = n
			var v []byte
			v, err = tr.raw.Get(cctx, tr.keys[w])
			if err == nil && string(v) != strconv.FormatInt(n, 10) {
				// Only a late Put of unknown outcome may hide the value just
				// acknowledged; anything else is a lost write or a stale read.
				if got, perr := strconv.ParseInt(string(v), 10, 64); perr != nil || !tr.unsure[w][got] {
					tr.violations[w] = append(tr.violations[w], fmt.Sprintf("read %q right after writing %d", v, n))
				}
				err = fmt.Errorf("read %q right after writing %d", v, n)
			}
		}
		cancel()
		switch {
		case err != nil && ctx.Err() == nil: // not the call halt cancelled
			tr.failed.Add(1)
		case err != nil:
		case tr.healed.Load():
			tr.okAfter[w].Add(1)
		}
	}
}

// halt stops the workers and waits for them. It is idempotent.
func (tr *traffic) halt() {
	tr.stop()
	tr.wg.Wait()
}

// waitRounds waits until every worker completed n successful rounds since
// the fault was healed.
func (tr *traffic) waitRounds(t *testing.T, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), recoverTimeout)
	defer cancel()
	eventually(t, ctx, "traffic succeeds after the fault", func(context.Context) error {
		for w := range tr.okAfter {
			if got := tr.okAfter[w].Load(); got < n {
				return fmt.Errorf("worker %d: %d of %d rounds succeeded (%d failed calls so far)", w, got, n, tr.failed.Load())
			}
		}
		return nil
	})
}

// verify stops the traffic and checks each key holds its last acknowledged
// value or one whose Put failed (unknown outcome): an acknowledged write was
// not lost except to a write that may have landed late, and no value
// appeared that was never written.
func (tr *traffic) verify(t *testing.T) {
	t.Helper()
	tr.halt()
	t.Logf("traffic: %d failed calls during the fault; acknowledged %v", tr.failed.Load(), tr.acked)
	for w, vs := range tr.violations {
		for _, v := range vs {
			t.Errorf("worker %d (key %q): %s", w, tr.keys[w], v)
		}
	}
	got, err := tr.raw.BatchGet(callCtx(t), tr.keys)
	if err != nil {
		t.Fatalf("BatchGet after the fault: %v", err)
	}
	for w, v := range got {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || (n != tr.acked[w] && !tr.unsure[w][n]) {
			t.Errorf("key %q = %q, want the last acknowledged value %d or one of the %d values whose Put failed",
				tr.keys[w], v, tr.acked[w], len(tr.unsure[w]))
		}
	}
}

// TestPDLeaderChangeDuringTraffic moves PD leadership while raw and TSO
// traffic runs. The client must find the new leader on its own: timestamps
// keep increasing, region lookups after a fresh split go through the new
// leader, and the raw traffic resumes with no acknowledged write lost.
func TestPDLeaderChangeDuringTraffic(t *testing.T) {
	if !suiteCluster.Supports(cluster.CapChangePDLeader) {
		t.Skipf("the %s backend cannot change the PD leader", suiteCluster.Kind())
	}
	cli := newClient(t)
	ks := newKeyspace(t, cli)
	keys, _ := ks.numbered(4)
	before, err := cli.PD().Leader()
	if err != nil {
		t.Fatalf("PD Leader: %v", err)
	}
	tsBefore, err := cli.CurrentTS(callCtx(t))
	if err != nil {
		t.Fatalf("CurrentTS: %v", err)
	}
	tr := startTraffic(t, cli, keys, true)

	if err := suiteCluster.ChangePDLeader(callCtx(t)); err != nil {
		t.Fatalf("ChangePDLeader: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), recoverTimeout)
	defer cancel()
	eventually(t, ctx, "the client follows the new PD leader", func(ctx context.Context) error {
		cctx, ccancel := context.WithTimeout(ctx, trafficOpTimeout)
		defer ccancel()
		if _, err := cli.PD().GetRegion(cctx, regionKey(cli, keys[0])); err != nil {
			return fmt.Errorf("GetRegion: %w", err)
		}
		now, err := cli.PD().Leader()
		if err != nil {
			return err
		}
		if now.ID == before.ID {
			return fmt.Errorf("client still names member %d (%s) as PD leader", now.ID, now.Addr)
		}
		return nil
	})
	select {
	case <-before.Changed():
	default:
		t.Fatal("the old Leader snapshot's Changed channel is still open after a new leader was published")
	}
	tr.healed.Store(true)

	ts, err := cli.CurrentTS(callCtx(t))
	if err != nil {
		t.Fatalf("CurrentTS after the leader change: %v", err)
	}
	if ts <= tsBefore {
		t.Fatalf("CurrentTS after the leader change = %d, not above %d from before", ts, tsBefore)
	}
	// A split now makes the client's cached regions stale, so the traffic
	// must reload them from the new leader.
	splitAt(t, cli, keys[2])
	tr.waitRounds(t, 3)
	tr.verify(t)
}

// TestStoreRestartDuringTraffic stops the store leading the test's region
// while traffic runs, checks that calls to it give up within their deadline
// instead of hanging, restarts it on the same address and requires the
// client to reconnect and serve every key again, with no acknowledged write
// lost.
func TestStoreRestartDuringTraffic(t *testing.T) {
	if !suiteCluster.Supports(cluster.CapStopStore | cluster.CapRestartStore) {
		t.Skipf("the %s backend cannot stop and restart stores", suiteCluster.Kind())
	}
	cli := newClient(t)
	ks := newKeyspace(t, cli)
	keys, _ := ks.numbered(4)
	splitAt(t, cli, keys[2])
	region, err := cli.PD().GetRegion(callCtx(t), regionKey(cli, keys[0]))
	if err != nil {
		t.Fatalf("GetRegion: %v", err)
	}
	store := region.Leader.GetStoreId()
	if store == 0 {
		t.Fatalf("PD reports no leader for region %d", region.Meta.GetId())
	}
	tr := startTraffic(t, cli, keys, false)
	// Let the client cache the regions and connect to the store first.
	warm, err := cli.Raw().BatchGet(callCtx(t), keys)
	if err != nil {
		t.Fatalf("BatchGet before the fault: %v (%d values)", err, len(warm))
	}

	if err := suiteCluster.StopStore(callCtx(t), store); err != nil {
		t.Fatalf("StopStore(%d): %v", store, err)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped { // the test failed before restarting it; later tests need it
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			defer cancel()
			if err := suiteCluster.RestartStore(ctx, store); err != nil {
				t.Errorf("RestartStore(%d) in cleanup: %v", store, err)
			}
		}
	})
	t.Logf("stopped store %d, leader of region %d", store, region.Meta.GetId())

	// A call to a region led by the stopped store must end by its deadline
	// (with an error, or with success once a real cluster elected another
	// leader), never hang.
	const probe = time.Second
	start := time.Now()
	pctx, pcancel := context.WithTimeout(t.Context(), probe)
	_ = cli.Raw().Put(pctx, keys[0], []byte("probe-during-stop"))
	pcancel()
	if took := time.Since(start); took > probe+5*time.Second {
		t.Fatalf("Put with a %v deadline to a region on a stopped store returned after %v", probe, took)
	}
	// The probe may have been applied. It is not a number, so verify
	// rejects it unless worker 0, which owns keys[0], overwrote it, as the
	// rounds below make sure it does.

	if err := suiteCluster.RestartStore(callCtx(t), store); err != nil {
		t.Fatalf("RestartStore(%d): %v", store, err)
	}
	stopped = false
	tr.healed.Store(true)
	tr.waitRounds(t, 3)

	// Every key, in both regions, is served again.
	ctx, cancel := context.WithTimeout(t.Context(), recoverTimeout)
	defer cancel()
	eventually(t, ctx, "every key readable after the restart", func(ctx context.Context) error {
		cctx, ccancel := context.WithTimeout(ctx, trafficOpTimeout)
		defer ccancel()
		got, err := cli.Raw().BatchGet(cctx, keys)
		if err != nil {
			return err
		}
		for i, v := range got {
			if v == nil {
				return fmt.Errorf("key %q missing", keys[i])
			}
		}
		return nil
	})
	tr.verify(t)
}
