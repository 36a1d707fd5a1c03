package peer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Scenario names shared by the workers and the orchestrator.
const (
	// RawGet is one RawGet of a 64-byte value.
	RawGet = "raw.get"
	// RawPut is one RawPut of a 64-byte value.
	RawPut = "raw.put"
	// RawBatchGet100 is one RawBatchGet of 100 existing keys.
	RawBatchGet100 = "raw.batchget100"
	// RawScan100 is one RawScan returning 100 pairs.
	RawScan100 = "raw.scan100"
	// TSOGetTS is one timestamp from PD's TSO service.
	TSOGetTS = "tso.getts"
	// LocateKey is one region-cache hit; Case.Arg is the number of cached
	// regions. It runs in process against a synthetic PD, not against
	// tikvsim.
	LocateKey = "locate.key"
	// TxnCommit2PC, TxnCommitAsync and TxnCommit1PC commit Case.Arg keys
	// (64-byte values) in one transaction: start ts from TSO, then the
	// commit by plain 2PC, async commit or 1PC (each client falls back to
	// 2PC where its rules say so, for example 1PC over 16 KiB). Each caller
	// writes its own keys, so callers never conflict.
	TxnCommit2PC   = "txn.commit.2pc"
	TxnCommitAsync = "txn.commit.async"
	TxnCommit1PC   = "txn.commit.1pc"
	// TxnSnapGet, TxnSnapBatchGet100 and TxnSnapScan100 read, in one
	// snapshot taken at setup, one of 100 preloaded keys (TxnReadKey, 64-byte
	// values), all 100 of them, or a scan returning the 100.
	TxnSnapGet         = "txn.snap.get"
	TxnSnapBatchGet100 = "txn.snap.batchget100"
	TxnSnapScan100     = "txn.snap.scan100"
	// TxnOptimistic is a whole optimistic transaction through the
	// transactional client: Begin (start ts from TSO), Set of Case.Arg keys
	// (TxnCommitKey, 64-byte values), Commit by 2PC.
	TxnOptimistic = "txn.optimistic"
	// TxnPessimisticLock1 is a pessimistic transaction of one key: Begin,
	// LockKeys (a for-update ts from TSO), Set, Commit.
	TxnPessimisticLock1 = "txn.pessimistic.lock1"
)

// TxnReadKey is the i-th of the 100 keys the snapshot scenarios read.
func TxnReadKey(i int) []byte { return fmt.Appendf(nil, "bench-txnread-%03d", i) }

// ScenarioSpec describes one scenario for the orchestrator: which
// concurrencies and arguments it runs at.
type ScenarioSpec struct {
	Name    string
	Title   string // table heading
	Callers []int
	Args    []int // Case.Arg values; nil means one case with Arg 0
	ArgName string
}

// Scenarios lists every scenario the orchestrator runs, in table order.
// The transactional scenarios go here once the workers register them.
var Scenarios = []ScenarioSpec{
	{Name: RawGet, Title: "raw Get", Callers: []int{1, 16, 128}},
	{Name: RawPut, Title: "raw Put", Callers: []int{1, 16, 128}},
	{Name: RawBatchGet100, Title: "raw BatchGet(100)", Callers: []int{1, 16, 128}},
	{Name: RawScan100, Title: "raw Scan(100)", Callers: []int{1, 16, 128}},
	{Name: TSOGetTS, Title: "TSO GetTS", Callers: []int{1, 64, 1024}},
	{Name: LocateKey, Title: "LocateKey (cache hit)", Callers: []int{1}, Args: []int{1_000, 100_000, 1_000_000}, ArgName: "regions"},
	{Name: TxnCommit2PC, Title: "txn commit, 2PC", Callers: []int{1, 16}, Args: []int{1, 16, 256}, ArgName: "keys"},
	{Name: TxnCommitAsync, Title: "txn commit, async commit", Callers: []int{1, 16}, Args: []int{1, 16, 256}, ArgName: "keys"},
	{Name: TxnCommit1PC, Title: "txn commit, 1PC", Callers: []int{1, 16}, Args: []int{1, 16, 256}, ArgName: "keys"},
	{Name: TxnSnapGet, Title: "txn snapshot Get", Callers: []int{1, 128}},
	{Name: TxnSnapBatchGet100, Title: "txn snapshot BatchGet(100)", Callers: []int{1, 128}},
	{Name: TxnSnapScan100, Title: "txn snapshot Scan(100)", Callers: []int{1, 128}},
	{Name: TxnOptimistic, Title: "optimistic txn (Begin, Set, Commit)", Callers: []int{1, 128}, Args: []int{1, 16}, ArgName: "writes"},
	{Name: TxnPessimisticLock1, Title: "pessimistic txn (LockKeys + Commit, 1 key)", Callers: []int{1, 128}},
}

// TxnCommitKey is the key of the j-th mutation of caller's transactions in
// a commit scenario; both workers write the same keys.
func TxnCommitKey(scenario string, caller, j int) []byte {
	return fmt.Appendf(nil, "bench-txn-%s-c%03d-%03d", scenario, caller, j)
}

// Op performs one operation of a scenario. caller is the index of the
// calling goroutine (0 to Case.Callers-1) and i counts that caller's
// operations, so an Op can spread its keys without shared state.
type Op func(ctx context.Context, caller, i int) error

// Setup prepares a client for one case (connections, caches, data) and
// returns the operation to time. Work done here is not measured. The
// returned cleanup, if not nil, runs after the case.
type Setup func(ctx context.Context, c Case) (op Op, cleanup func(), err error)

// ErrUnknownScenario is returned for a scenario a worker has not registered.
var ErrUnknownScenario = errors.New("peer: unknown scenario")

// Registry maps scenario names to their setups in one worker.
type Registry struct {
	mu     sync.Mutex
	setups map[string]Setup
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{setups: map[string]Setup{}} }

// Register adds a scenario; registering a name twice fails.
func (r *Registry) Register(name string, s Setup) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || s == nil {
		return fmt.Errorf("peer: Register: empty name or nil setup")
	}
	if _, ok := r.setups[name]; ok {
		return fmt.Errorf("peer: Register: scenario %q registered twice", name)
	}
	r.setups[name] = s
	return nil
}

// Lookup returns the setup registered under name.
func (r *Registry) Lookup(name string) (Setup, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.setups[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownScenario, name)
	}
	return s, nil
}

// Names returns the registered scenario names, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.setups))
	for n := range r.setups {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
