package e2e_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/txnkv"
)

// bankTransfers is how many transfers the bank check commits (or gives up
// on) before it stops. The short form runs in the test command; the long
// form is -bank.transfers=10000 or TIKVGO_E2E_BANK_TRANSFERS=10000.
var bankTransfers = flag.Int("bank.transfers", 0, "transfers of TestBankUnderFaults (default 200, or $TIKVGO_E2E_BANK_TRANSFERS)")

const (
	bankAccounts   = 8
	bankInitial    = 1000
	bankWorkers    = 4
	bankReaders    = 2
	bankOpTimeout  = 5 * time.Second
	bankFaultEvery = 40 * time.Millisecond
)

func bankTarget(t *testing.T) int {
	if *bankTransfers > 0 {
		return *bankTransfers
	}
	if s := os.Getenv("TIKVGO_E2E_BANK_TRANSFERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TIKVGO_E2E_BANK_TRANSFERS=%q: want a positive integer", s)
		}
		return n
	}
	return 200
}

// bank is the state of one bank check: accounts that transfers move money
// between, so their sum never changes.
type bank struct {
	cli      *txnkv.Client
	sim      *tikvsim.Cluster
	accounts [][]byte
	start    []byte // first key of the table
	end      []byte // end of the table's key range
	marker   []byte // written only by abandoned transactions, sorts first: their primary
	target   int    // transfers to run

	done, retries, gaveUp, undetermined atomic.Int64
	byMode                              [4]atomic.Int64
	reads, readErrs                     atomic.Int64
	abandoned                           atomic.Int64 // abandonment attempts, to alternate their mode
	faults                              sync.Map     // kind -> *atomic.Int64

	mu         sync.Mutex
	violations []string
}

var bankModes = [4]string{"optimistic", "pessimistic", "async-commit", "1pc"}

func (b *bank) violate(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.violations = append(b.violations, fmt.Sprintf(format, args...))
}

func (b *bank) fault(kind string) {
	v, _ := b.faults.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func bankTxnOptions(mode int) []txnkv.TxnOption {
	switch mode {
	case 1:
		return []txnkv.TxnOption{txnkv.WithPessimistic()}
	case 2:
		return []txnkv.TxnOption{txnkv.WithAsyncCommit()}
	case 3:
		return []txnkv.TxnOption{txnkv.With1PC()}
	}
	return []txnkv.TxnOption{txnkv.WithOptimistic(), txnkv.WithoutAsyncCommit(), txnkv.Without1PC()}
}

// TestBankUnderFaults moves money between accounts with concurrent
// transactions of every commit mode while full-table snapshot reads check
// the sum and a fault injector breaks the cluster: store stop/restart,
// partition/heal, leader transfers, splits, merges, PD leader changes (a
// handover, and the leader member stopped then restarted), commit and
// prewrite answers lost after they applied (a lost prewrite answer is the
// lost commit answer of 1PC and async commit), and optimistic and
// pessimistic committers abandoned between prewrite and commit. Every read
// and the final state must sum to the initial total. It runs on a private
// tikvsim cluster, so its faults and region changes never reach the other
// tests.
func TestBankUnderFaults(t *testing.T) {
	if suiteCluster.Kind() != cluster.KindSim {
		t.Skipf("the bank check injects tikvsim faults; it runs on the sim backend only, not %s", suiteCluster.Kind())
	}
	target := bankTarget(t)
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	sim, err := tikvsim.Start(ctx, tikvsim.Options{PDs: 3, Stores: 3,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("tikvsim Close: %v", err)
		}
	})
	if err := cluster.WaitReady(ctx, sim.PDAddrs(), 3); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	fc, err := tikv.New(ctx, sim.PDAddrs())
	if err != nil {
		t.Fatalf("tikv.New: %v", err)
	}
	t.Cleanup(func() {
		if err := fc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	cli, err := fc.Txn(ctx)
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}

	b := &bank{cli: cli, sim: sim, start: []byte("bank/acct/"), end: []byte("bank/acct0"), marker: []byte("bank/!abandoned"), target: target}
	for i := range bankAccounts {
		b.accounts = append(b.accounts, fmt.Appendf(nil, "bank/acct/%02d", i))
	}
	total := int64(bankAccounts * bankInitial)
	init, err := cli.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	for _, k := range b.accounts {
		if err := init.Set(k, strconv.AppendInt(nil, bankInitial, 10)); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	if err := init.Commit(ctx); err != nil {
		t.Fatalf("initial Commit: %v", err)
	}

	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	var left atomic.Int64
	left.Store(int64(target))
	var workers, others sync.WaitGroup
	for w := range bankWorkers {
		rng := rand.New(rand.NewPCG(uint64(w), rand.Uint64()))
		workers.Go(func() {
			for left.Add(-1) >= 0 && runCtx.Err() == nil {
				b.transfer(runCtx, rng)
			}
		})
	}
	for range bankReaders {
		others.Go(func() {
			for runCtx.Err() == nil {
				b.read(runCtx, total, false)
			}
		})
	}
	injectorDone := make(chan struct{})
	others.Go(func() {
		defer close(injectorDone)
		b.injectFaults(runCtx, t)
	})
	workers.Wait()
	stop()
	others.Wait()
	<-injectorDone
	sim.ClearFaults()

	// Heal whatever the injector left broken, then a read at a fresh ts
	// resolves every lock left behind (abandoned committers' included).
	for _, s := range sim.Stores() {
		_ = sim.HealStore(s.ID)
		_ = sim.RestartStore(s.ID)
	}
	fctx, fcancel := context.WithTimeout(t.Context(), recoverTimeout)
	defer fcancel()
	eventually(t, fctx, "final read of the whole table", func(ctx context.Context) error {
		return b.read(ctx, total, true)
	})

	var faults []string
	b.faults.Range(func(k, v any) bool {
		faults = append(faults, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("bank: %d transfers committed (optimistic %d, pessimistic %d, async-commit %d, 1pc %d), %d retries, %d given up, %d undetermined",
		b.done.Load(), b.byMode[0].Load(), b.byMode[1].Load(), b.byMode[2].Load(), b.byMode[3].Load(),
		b.retries.Load(), b.gaveUp.Load(), b.undetermined.Load())
	t.Logf("bank: %d snapshot reads checked, %d failed under faults; faults injected: %v", b.reads.Load(), b.readErrs.Load(), faults)
	t.Logf("bank: %d violations", len(b.violations))
	for _, v := range b.violations {
		t.Errorf("violation: %s", v)
	}
	if b.done.Load() == 0 {
		t.Errorf("no transfer committed")
	}
}

// transfer moves a random amount between two random accounts, retrying
// retryable errors a few times. An undetermined commit is counted, never
// retried: it may have committed.
func (b *bank) transfer(ctx context.Context, rng *rand.Rand) {
	mode := rng.IntN(len(bankModes))
	from := rng.IntN(len(b.accounts))
	to := (from + 1 + rng.IntN(len(b.accounts)-1)) % len(b.accounts)
	amount := int64(1 + rng.IntN(50))
	for range 5 {
		err := b.transferOnce(ctx, mode, b.accounts[from], b.accounts[to], amount)
		switch {
		case err == nil:
			b.done.Add(1)
			b.byMode[mode].Add(1)
			return
		case errors.Is(err, txnkv.ErrUndetermined):
			b.undetermined.Add(1)
			return
		case ctx.Err() != nil:
			return
		}
		b.retries.Add(1)
	}
	b.gaveUp.Add(1)
}

func (b *bank) transferOnce(ctx context.Context, mode int, from, to []byte, amount int64) error {
	ctx, cancel := context.WithTimeout(ctx, bankOpTimeout)
	defer cancel()
	txn, err := b.cli.Begin(ctx, bankTxnOptions(mode)...)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = txn.Rollback(ctx)
		}
	}()
	var vals map[string][]byte
	if mode == 1 {
		// A pessimistic transaction's snapshot reads stay at its start ts;
		// the values to update are the ones locked at the for-update ts.
		res, err := txn.LockKeys(ctx, txnkv.LockOptions{ReturnValues: true}, from, to)
		if err != nil {
			return err
		}
		vals = map[string][]byte{string(from): res[0].Value, string(to): res[1].Value}
	} else if vals, err = txn.BatchGet(ctx, [][]byte{from, to}); err != nil {
		return err
	}
	fb, err1 := strconv.ParseInt(string(vals[string(from)]), 10, 64)
	tb, err2 := strconv.ParseInt(string(vals[string(to)]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		b.violate("transfer read %q=%q %q=%q: %v", from, vals[string(from)], to, vals[string(to)], err)
		return err
	}
	if fb < amount {
		amount = fb // may be 0: still writes both, a harmless no-op transfer
	}
	if err := errors.Join(txn.Set(from, strconv.AppendInt(nil, fb-amount, 10)),
		txn.Set(to, strconv.AppendInt(nil, tb+amount, 10))); err != nil {
		return err
	}
	committed = true // Commit ends the transaction whatever it returns
	return txn.Commit(ctx)
}

// read scans the whole table at a fresh ts and checks it: every account
// present, none negative, and the sum equal to total. A read failing under
// faults is counted and returns its error.
func (b *bank) read(ctx context.Context, total int64, final bool) error {
	ctx, cancel := context.WithTimeout(ctx, bankOpTimeout)
	defer cancel()
	err := func() error {
		ts, err := b.cli.CurrentTS(ctx)
		if err != nil {
			return err
		}
		snap, err := b.cli.Snapshot(ctx, ts)
		if err != nil {
			return err
		}
		var sum int64
		n := 0
		for kv, err := range snap.Iter(ctx, b.start, b.end) {
			if err != nil {
				return err
			}
			v, perr := strconv.ParseInt(string(kv.Value), 10, 64)
			if perr != nil || v < 0 {
				b.violate("read at %v: account %q = %q", ts, kv.Key, kv.Value)
			}
			sum += v
			n++
		}
		if n != len(b.accounts) || sum != total {
			b.violate("read at %v (final %v): %d accounts sum to %d, want %d accounts summing to %d", ts, final, n, sum, len(b.accounts), total)
		}
		b.reads.Add(1)
		return nil
	}()
	if err != nil && !final {
		b.readErrs.Add(1)
	}
	return err
}

// injectFaults cycles through the fault kinds until ctx is done, one step
// per tick, each fault undone before the next begins.
func (b *bank) injectFaults(ctx context.Context, t *testing.T) {
	tick := time.NewTicker(bankFaultEvery)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
	wait := func(n int) bool {
		for range n {
			select {
			case <-ctx.Done():
				return false
			case <-tick.C:
			}
		}
		return true
	}
	steps := []func() bool{
		func() bool { // store stop, then restart a few ticks later
			id := b.leaderStore(rng)
			if err := b.sim.StopStore(id); err != nil {
				return true
			}
			b.fault("store-stop")
			ok := wait(3)
			if err := b.sim.RestartStore(id); err != nil {
				t.Errorf("RestartStore(%d): %v", id, err)
			}
			return ok
		},
		func() bool { // partition, then heal
			id := b.leaderStore(rng)
			if err := b.sim.PartitionStore(id); err != nil {
				return true
			}
			b.fault("partition")
			ok := wait(3)
			if err := b.sim.HealStore(id); err != nil {
				t.Errorf("HealStore(%d): %v", id, err)
			}
			return ok
		},
		func() bool { // leader transfer
			r, err := b.sim.RegionByKey(tikvsim.EncodeKey(b.accounts[rng.IntN(len(b.accounts))]))
			if err != nil || len(r.Peers) < 2 {
				return true
			}
			for _, p := range r.Peers {
				if p.StoreID != r.Leader && !p.Learner {
					if b.sim.TransferLeader(r.ID, p.StoreID) == nil {
						b.fault("leader-transfer")
					}
					break
				}
			}
			return true
		},
		func() bool { // split at an account
			if _, err := b.sim.SplitRegionAt(tikvsim.EncodeKey(b.accounts[1+rng.IntN(len(b.accounts)-1)])); err == nil {
				b.fault("split")
			}
			return true
		},
		func() bool { // merge two adjacent regions inside the table
			off := rng.IntN(len(b.accounts))
			for i := range b.accounts {
				r, err := b.sim.RegionByKey(tikvsim.EncodeKey(b.accounts[(off+i)%len(b.accounts)]))
				if err != nil || len(r.EndKey) == 0 {
					continue
				}
				next, err := b.sim.RegionByKey(r.EndKey)
				if err == nil && b.sim.MergeRegions(next.ID, r.ID) == nil {
					b.fault("merge")
					break
				}
			}
			return true
		},
		func() bool { // PD leader change
			if b.sim.SetPDLeader((b.sim.PDLeader()+1)%len(b.sim.PDAddrs())) == nil {
				b.fault("pd-leader")
			}
			return true
		},
		func() bool { // the PD leader member stops, another takes over, then it restarts
			i := b.sim.PDLeader()
			if i < 0 || b.sim.StopPD(i) != nil {
				return true
			}
			b.fault("pd-leader-stop")
			ok := wait(3)
			if err := b.sim.RestartPD(i); err != nil {
				t.Errorf("RestartPD(%d): %v", i, err)
			}
			return ok
		},
		func() bool { // the next commit applies but its answer is lost
			remove := b.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1, AfterApply: true, GRPCCode: codes.Unavailable})
			b.fault("lost-commit-answer")
			ok := wait(2)
			remove()
			return ok
		},
		func() bool { // the next prewrite applies but its answer is lost: for 1PC and async commit that answer decides the transaction
			remove := b.sim.InjectFault(tikvsim.Fault{Command: "KvPrewrite", Count: 1, AfterApply: true, GRPCCode: codes.Unavailable})
			b.fault("lost-prewrite-answer")
			ok := wait(2)
			remove()
			return ok
		},
		func() bool { // a committer abandoned between prewrite and commit
			// Its locks live out their TTL (3 s) before anyone may roll
			// them back, stalling the accounts it wrote.
			// A conflict before the commit leaves nothing to abandon: try
			// again a few times.
			// Optimistic and pessimistic committers take turns.
			pessimistic := b.abandoned.Add(1)%2 == 0
			for range 5 {
				if b.abandon(ctx, rng, pessimistic) {
					b.fault(map[bool]string{false: "abandoned-committer", true: "abandoned-pessimistic-committer"}[pessimistic])
					break
				}
			}
			return true
		},
	}
	names := []string{"store-stop", "partition", "leader-transfer", "split", "merge", "pd-leader", "pd-leader-stop",
		"lost-commit-answer", "lost-prewrite-answer", "abandoned-committer"}
	if only := os.Getenv("TIKVGO_E2E_BANK_FAULTS"); only != "" {
		// Narrows the cycle to the named kinds, to find which one breaks.
		var keep []func() bool
		for i, n := range names {
			if slices.Contains(strings.Split(only, ","), n) {
				keep = append(keep, steps[i])
			}
		}
		steps = keep
	}
	if len(steps) == 0 {
		<-ctx.Done()
		return
	}
	// Faults are spread over the run by progress, not time: step i waits
	// until i/total of the transfers are over, so a slow machine sees the
	// same faults as a fast one, and each fault has healthy stretches of
	// transfers around it.
	total := len(steps) * max(2, b.target/150)
	for i := range total {
		for b.progress() < int64(i*b.target/(total+1)) {
			if !wait(1) {
				return
			}
		}
		if !steps[i%len(steps)]() {
			return
		}
	}
}

// progress is how many transfers are over, however they ended.
func (b *bank) progress() int64 {
	return b.done.Load() + b.gaveUp.Load() + b.undetermined.Load()
}

// leaderStore is the store leading a random account's region.
func (b *bank) leaderStore(rng *rand.Rand) uint64 {
	r, err := b.sim.RegionByKey(tikvsim.EncodeKey(b.accounts[rng.IntN(len(b.accounts))]))
	if err != nil {
		return 1
	}
	return r.Leader
}

// abandon runs one transfer whose committer goes away once its commit
// request reaches the store: the request is parked (Hold), the committer's
// ctx is cancelled, then the request fails without applying. Its locks stay
// behind for readers and writers to resolve. The marker key sorts before
// every account, so it is the primary: the transaction is left undecided.
// It reports whether the commit got that far. A pessimistic committer
// locks the marker first, so it is the primary as well.
func (b *bank) abandon(ctx context.Context, rng *rand.Rand, pessimistic bool) bool {
	hold := make(chan struct{})
	held := make(chan struct{}, 1)
	remove := b.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: b.marker, Count: 1,
		Hold: hold, Held: held, GRPCCode: codes.Unavailable})
	defer remove()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		from := rng.IntN(len(b.accounts))
		to := (from + 1) % len(b.accounts)
		errc <- func() error {
			opts := bankTxnOptions(0)
			if pessimistic {
				opts = append(opts, txnkv.WithPessimistic())
			}
			txn, err := b.cli.Begin(cctx, opts...)
			if err != nil {
				return err
			}
			var vals map[string][]byte
			if pessimistic {
				// The marker is locked first, so it is the primary here too.
				var res []txnkv.LockResult
				res, err = txn.LockKeys(cctx, txnkv.LockOptions{ReturnValues: true}, b.marker, b.accounts[from], b.accounts[to])
				if err == nil {
					vals = map[string][]byte{string(b.accounts[from]): res[1].Value, string(b.accounts[to]): res[2].Value}
				}
			} else {
				vals, err = txn.BatchGet(cctx, [][]byte{b.accounts[from], b.accounts[to]})
			}
			if err != nil {
				_ = txn.Rollback(cctx)
				return err
			}
			fb, _ := strconv.ParseInt(string(vals[string(b.accounts[from])]), 10, 64)
			tb, _ := strconv.ParseInt(string(vals[string(b.accounts[to])]), 10, 64)
			amount := min(fb, 7)
			_ = txn.Set(b.marker, []byte("x"))
			_ = txn.Set(b.accounts[from], strconv.AppendInt(nil, fb-amount, 10))
			_ = txn.Set(b.accounts[to], strconv.AppendInt(nil, tb+amount, 10))
			return txn.Commit(cctx)
		}()
	}()
	select {
	case <-held: // the commit reached the store: abandon it there
		cancel()
		close(hold)
		if err := <-errc; errors.Is(err, txnkv.ErrUndetermined) {
			b.undetermined.Add(1)
		}
		return true
	case <-errc: // failed before commit (conflict, fault): nothing to abandon
		close(hold)
		return false
	}
}
