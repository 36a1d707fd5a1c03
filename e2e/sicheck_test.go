package e2e_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/e2e/sicheck"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

var siLong = flag.Bool("sicheck.long", false, "run the long snapshot-isolation workload (list-append, faults)")

// siClient adapts the facade's transactional client to sicheck.TxnClient.
// Begin rotates through 2PC, async commit, 1PC, async commit with 1PC,
// and pessimistic. A pessimistic transaction reads every key through
// LockKeys with ReturnValues (the value at the for-update ts, locked until
// commit), as a "select for update" does: a plain Get reads the start-ts
// snapshot, and writing back what it read after locking at a newer
// for-update ts loses updates (TiKV checks a pessimistic transaction's
// write conflicts at lock time against the for-update ts, not the start
// ts), which this checker reports as lost writes. Every every-th commit
// first calls fault, so faults land between transactions deterministically,
// counted rather than timed.
type siClient struct {
	c      *tikv.TxnClient
	begins atomic.Int64
	pess   atomic.Int64
	every  int64
	// fault injects a fault before a commit; a non-nil result abandons
	// that commit (see siFaults.inject) and is called after it returns.
	fault func(n int64) (release func())
}

func (s *siClient) Begin(ctx context.Context) (sicheck.ClientTxn, error) {
	var opts []tikv.TxnOption
	pess := false
	switch s.begins.Add(1) % 5 {
	case 1:
		opts = append(opts, tikv.WithAsyncCommit())
	case 2:
		opts = append(opts, tikv.With1PC())
	case 3:
		opts = append(opts, tikv.WithAsyncCommit(), tikv.With1PC())
	case 4:
		opts, pess = append(opts, tikv.WithPessimistic()), true
		s.pess.Add(1)
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	t, err := s.c.Begin(cctx, opts...)
	if err != nil {
		return nil, err
	}
	return &siTxn{s: s, t: t, pess: pess, set: map[string]bool{}}, nil
}

type siTxn struct {
	s    *siClient
	t    *tikv.Txn
	pess bool
	set  map[string]bool // keys this transaction wrote: read them from its buffer
}

func (x *siTxn) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if x.pess && !x.set[string(key)] {
		r, err := x.t.LockKeys(cctx, tikv.LockOptions{ReturnValues: true}, key)
		if err != nil {
			return nil, false, err
		}
		return r[0].Value, r[0].Exists, nil
	}
	v, err := x.t.Get(cctx, key)
	if errors.Is(err, tikv.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (x *siTxn) Set(key, value []byte) error {
	x.set[string(key)] = true
	return x.t.Set(key, value)
}

func (x *siTxn) Commit(ctx context.Context) error {
	timeout := opTimeout
	if n := x.s.begins.Load(); x.s.fault != nil && n%x.s.every == 0 {
		if release := x.s.fault(n); release != nil {
			timeout = abandonAfter
			defer release()
		}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := x.t.Commit(cctx)
	if errors.Is(err, tikv.ErrUndetermined) {
		return fmt.Errorf("%w: %w", sicheck.ErrIndeterminate, err)
	}
	return err
}

func (x *siTxn) Rollback(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return x.t.Rollback(cctx)
}

func (x *siTxn) StartTS() uint64  { return uint64(x.t.StartTS()) }
func (x *siTxn) CommitTS() uint64 { return uint64(x.t.CommitTS()) }

// abandonAfter is how long an abandoned commit lives: its client gives up
// (ctx deadline) while a commit request is parked by a Hold fault.
const abandonAfter = 300 * time.Millisecond

// siFaults injects, in turn, a region split at a workload key, a leader
// transfer of a workload key's region, a lost commit answer (applied, then
// Unavailable), a lost prewrite answer (which is the commit under 1PC), and
// an abandoned commit: the next KvCommit is parked until the committing
// client's ctx expires (an unknown outcome, locks left to be resolved by
// others) and released afterwards. The parked request may belong to
// another transaction, which then just waits a little.
type siFaults struct {
	sim    *tikvsim.Cluster
	keys   [][]byte
	stores int

	mu       sync.Mutex
	rng      *rand.Rand
	injected map[string]int
	failed   int
	count    int
}

func (f *siFaults) inject(int64) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := f.keys[f.rng.IntN(len(f.keys))]
	var kind string
	var err error
	// The fault's own counter, not n: n fixes the commit mode too (Begin
	// rotates on it), and a fault tied to one mode would miss the others.
	f.count++
	switch f.count % 5 {
	case 0:
		// A fresh boundary next to a workload key, so every split splits.
		kind = "split"
		_, err = f.sim.SplitRegion(fmt.Appendf(nil, "%s/%d", key, f.count))
	case 1:
		kind = "transfer-leader"
		var r tikvsim.RegionInfo
		if r, err = f.sim.RegionByKey(tikvsim.EncodeKey(key)); err == nil {
			err = f.sim.TransferLeader(r.ID, uint64(1+f.rng.IntN(f.stores)))
		}
	case 2:
		kind = "lost-commit-answer"
		f.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
	case 3:
		kind = "lost-prewrite-answer"
		f.sim.InjectFault(tikvsim.Fault{Command: "KvPrewrite", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
	case 4:
		kind = "abandoned-commit"
		hold := make(chan struct{})
		remove := f.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1, Hold: hold})
		release = func() { close(hold); remove() }
	}
	if err != nil {
		f.failed++ // e.g. a transfer to the current leader
		return nil
	}
	f.injected[kind]++
	return release
}

// TestSnapshotIsolationListAppend runs sicheck's list-append workload
// through the facade (2PC, async commit, 1PC and pessimistic transactions)
// against an in-process tikvsim (API V1: its faults name keys
// as V1 stores them; under V2 they would need the keyspace prefix) while splits, leader
// transfers, lost commit and prewrite answers and abandoned commits are
// injected, and checks
// the history for every anomaly snapshot isolation forbids. It needs Go
// fault injection, so it runs with the sim backend only; -sicheck.long
// makes it longer.
func TestSnapshotIsolationListAppend(t *testing.T) {
	if suiteCluster.Kind() != cluster.KindSim {
		t.Skip("needs tikvsim in process for fault injection")
	}
	workers, txns := 4, 25
	if *siLong {
		workers, txns = 8, 500
	}
	ctx := t.Context()
	sim, err := tikvsim.Start(ctx, tikvsim.Options{Stores: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cli, err := tikv.New(ctx, sim.PDAddrs())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	tc, err := cli.Txn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const keys = 4
	prefix := fmt.Sprintf("si%x/", rand.Uint32())
	f := &siFaults{sim: sim, stores: 3, rng: rand.New(rand.NewPCG(1, 2)), injected: map[string]int{}}
	for i := range keys {
		f.keys = append(f.keys, []byte(sicheck.Key(prefix, i)))
	}
	sc := &siClient{c: tc, every: 3, fault: f.inject}
	h, err := sicheck.Run(ctx, sc,
		sicheck.WithWorkers(workers), sicheck.WithTxnsPerWorker(txns), sicheck.WithKeys(keys),
		sicheck.WithKeyPrefix(prefix))
	sim.ClearFaults()
	if err != nil {
		t.Fatal(err)
	}
	res, err := sicheck.Check(h)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[sicheck.Outcome]int{}
	for _, x := range h {
		outcomes[x.Outcome]++
	}
	t.Logf("%d txns (%d pessimistic): %d committed, %d aborted, %d unknown; faults %v (%d not applicable); %s",
		len(h), sc.pess.Load(), outcomes[sicheck.Committed], outcomes[sicheck.Aborted], outcomes[sicheck.Unknown],
		f.injected, f.failed, res)
	if !res.Valid() {
		t.Fatalf("snapshot isolation violated: %s", res)
	}
	// Pessimistic transactions on four hot keys abort often (lock waits,
	// deadlocks); the bound only catches a run where nothing works.
	if outcomes[sicheck.Committed] < len(h)/10 {
		t.Fatalf("only %d of %d transactions committed", outcomes[sicheck.Committed], len(h))
	}
}
