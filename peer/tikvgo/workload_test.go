package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// command is one request of a differential sequence. req is a template: it
// is cloned for every target, so the targets never share a Context.
type command struct {
	typ  CmdType
	req  wireMessage
	ctx  kvrpcpb.Context // isolation level and resolved locks; region fields are set per target
	key  []byte          // routing key
	mode KeyMode
	desc string

	// For the known-difference rules.
	readTS            uint64 // reads: the read ts
	txn               *txn   // the transaction the command acts for, if any
	lateAfterRollback bool
	observe           func(resp *Response) // model update from the agreed response
}

// wireMessage is what every gogo-generated kvproto request implements.
type wireMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
	String() string
}

// request builds a fresh Request for one target.
func (c *command) request() (*Request, error) {
	b, err := c.req.Marshal()
	if err != nil {
		return nil, err
	}
	fresh := reflect.New(reflect.TypeOf(c.req).Elem()).Interface().(wireMessage)
	if err := fresh.Unmarshal(b); err != nil {
		return nil, err
	}
	ctx := c.ctx
	ctx.ResolvedLocks = slices.Clone(c.ctx.ResolvedLocks)
	return NewRequest(c.typ, fresh, ctx), nil
}

// txn is the generator's view of one transaction. Everything here is learnt
// from responses both targets agreed on, so it is the same for both.
type txn struct {
	id          int
	start       uint64
	pessimistic bool
	keys        [][]byte // planned keys, primary first
	ttl         uint64

	locked    map[string]uint64 // pessimistic locks held: key -> the lock's for_update_ts
	forUpdate uint64
	mutations []*kvrpcpb.Mutation // the prewrite, once built
	prewrites int                 // successful prewrite requests
	hasInsert bool
	touched   map[string]bool // keys that surely hold this txn's lock or a record of it
	minCommit uint64          // upper bound of any min_commit_ts its locks carry
	ttlRaised bool            // a heartbeat raised the primary lock's TTL above ttl
	commitTS  uint64          // primary committed at, 0 if not
	done      bool            // secondaries committed or resolved
	retired   bool            // rolled back: no more regular commands
}

func (t *txn) primary() []byte { return t.keys[0] }

func (t *txn) String() string {
	return fmt.Sprintf("txn%d(start=%d)", t.id, t.start)
}

// model drives one random command sequence.
type model struct {
	rng      *rand.Rand
	raw      bool
	physical int64
	keys     [][]byte
	txns     []*txn
	nextVal  int
	// maxWrite is an upper bound of the newest write-CF record (commit or
	// rollback) ts per key.
	maxWrite map[string]uint64
	// lockRecord marks keys that may hold a committed Lock record.
	lockRecord map[string]bool
	// rawData is the exact RawKV content (default CF).
	rawData map[string]string
	// pending holds commands scheduled ahead (a late request right after a
	// rollback).
	pending []*command
	// avoidSimBugs steers around the tikvsim deviations in simDeviations.
	avoidSimBugs bool
}

const (
	keyCount   = 6
	ttlShort   = 2
	ttlMedium  = 8
	ttlForever = 1 << 40
)

func newModel(seed int64, raw bool, basePhysical int64) *model {
	m := &model{
		avoidSimBugs: !*flagSimBugs,
		rng:          rand.New(rand.NewPCG(uint64(seed), 0x7065657221)),
		raw:          raw,
		physical:     basePhysical,
		maxWrite:     map[string]uint64{},
		lockRecord:   map[string]bool{},
		rawData:      map[string]string{},
	}
	prefix := "t"
	if raw {
		prefix = "r"
	}
	for i := range keyCount {
		m.keys = append(m.keys, []byte(fmt.Sprintf("%s%d", prefix, i)))
	}
	return m
}

// ts allocates a fresh timestamp one millisecond after the previous one, so
// lock TTLs (milliseconds of the physical part) expire deterministically.
func (m *model) ts() uint64 {
	m.physical++
	return uint64(m.physical) << 18
}

func (m *model) value() []byte {
	m.nextVal++
	return []byte(fmt.Sprintf("v%d", m.nextVal))
}

func (m *model) chance(p float64) bool { return m.rng.Float64() < p }

func (m *model) pickKey() []byte { return m.keys[m.rng.IntN(len(m.keys))] }

// pickKeys returns n distinct keys in random order.
func (m *model) pickKeys(n int) [][]byte {
	idx := m.rng.Perm(len(m.keys))[:n]
	out := make([][]byte, n)
	for i, j := range idx {
		out[i] = m.keys[j]
	}
	return out
}

func (m *model) sortedKeys(ks [][]byte) [][]byte {
	out := slices.Clone(ks)
	slices.SortFunc(out, bytes.Compare)
	return out
}

func (m *model) bumpWrite(key []byte, ts uint64) {
	if ts > m.maxWrite[string(key)] {
		m.maxWrite[string(key)] = ts
	}
}

// next returns the next command of the sequence.
func (m *model) next() *command {
	if len(m.pending) > 0 {
		c := m.pending[0]
		m.pending = m.pending[1:]
		return c
	}
	if m.raw {
		return m.nextRaw()
	}
	for {
		if c := m.nextTxn(); c != nil {
			return c
		}
	}
}

func (m *model) live() []*txn {
	var out []*txn
	for _, t := range m.txns {
		if !t.retired && !t.done {
			out = append(out, t)
		}
	}
	return out
}

func (m *model) pickLive(filter func(*txn) bool) *txn {
	var cands []*txn
	for _, t := range m.live() {
		if filter(t) {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[m.rng.IntN(len(cands))]
}

// nextTxn picks an action; it returns nil when the action has no candidate
// and the caller draws again.
func (m *model) nextTxn() *command {
	switch r := m.rng.IntN(100); {
	case r < 10:
		if len(m.live()) < 3 {
			m.begin()
		}
		return nil
	case r < 30:
		return m.read()
	case r < 40:
		return m.lockCmd()
	case r < 52:
		return m.prewriteCmd()
	case r < 62:
		return m.commitCmd()
	case r < 68:
		return m.rollbackCmd()
	case r < 74:
		return m.cleanupCmd()
	case r < 83:
		return m.checkTxnStatusCmd()
	case r < 85:
		return m.heartBeatCmd()
	case r < 86:
		return m.pessimisticRollbackCmd()
	case r < 93:
		return m.resolveLockCmd()
	case r < 99:
		return m.scanLockCmd()
	default:
		if m.chance(0.5) {
			return m.deleteRangeCmd()
		}
		return nil
	}
}

func (m *model) begin() {
	t := &txn{
		id:          len(m.txns),
		start:       m.ts(),
		pessimistic: m.chance(0.4),
		keys:        m.pickKeys(1 + m.rng.IntN(3)),
		ttl:         []uint64{ttlShort, ttlMedium, ttlForever}[m.rng.IntN(3)],
		locked:      map[string]uint64{},
		touched:     map[string]bool{},
	}
	m.txns = append(m.txns, t)
}

// readTS picks a read timestamp: mostly fresh, sometimes an older
// transaction's start (a snapshot read), sometimes max (autocommit point get).
func (m *model) readTS(allowMax bool) uint64 {
	switch r := m.rng.IntN(10); {
	case r < 6 || len(m.txns) == 0:
		return m.ts()
	case r < 9 || !allowMax:
		return m.txns[m.rng.IntN(len(m.txns))].start
	default:
		return math.MaxUint64
	}
}

func (m *model) readContext() kvrpcpb.Context {
	var ctx kvrpcpb.Context
	if m.chance(0.1) {
		ctx.IsolationLevel = kvrpcpb.IsolationLevel_RC
	}
	if m.chance(0.15) && len(m.txns) > 0 {
		ctx.ResolvedLocks = []uint64{m.txns[m.rng.IntN(len(m.txns))].start}
	}
	return ctx
}

func (m *model) read() *command {
	ctx := m.readContext()
	switch m.rng.IntN(4) {
	case 0:
		key, ts := m.pickKey(), m.readTS(true)
		return &command{typ: CmdGet, req: &kvrpcpb.GetRequest{Key: key, Version: ts}, ctx: ctx, key: key, readTS: ts,
			desc: fmt.Sprintf("KvGet %q @%d iso=%s resolved=%v", key, ts, ctx.IsolationLevel, ctx.ResolvedLocks)}
	case 1:
		keys, ts := m.pickKeys(1+m.rng.IntN(4)), m.readTS(false)
		return &command{typ: CmdBatchGet, req: &kvrpcpb.BatchGetRequest{Keys: keys, Version: ts}, ctx: ctx, key: keys[0], readTS: ts,
			desc: fmt.Sprintf("KvBatchGet %q @%d iso=%s resolved=%v", keys, ts, ctx.IsolationLevel, ctx.ResolvedLocks)}
	default:
		ts := m.readTS(false)
		req := &kvrpcpb.ScanRequest{Version: ts, Limit: uint32(1 + m.rng.IntN(keyCount+1)), KeyOnly: m.chance(0.2)}
		if m.chance(0.5) {
			req.Reverse = true
			// TiKV reads [end_key, start_key) backwards; start_key is always set
			// because an empty one means "nothing" to TiKV and "everything"
			// to mocktikv (knownDifferences: reverse-scan-empty-start).
			req.StartKey = []byte(fmt.Sprintf("%s%d", m.keys[0][:1], m.rng.IntN(keyCount+1)))
			if m.chance(0.6) {
				req.EndKey = m.pickKey()
			}
		} else {
			req.StartKey = m.pickKey()
			if m.chance(0.3) {
				req.StartKey = nil
			}
			if m.chance(0.5) {
				req.EndKey = m.pickKey()
			}
		}
		return &command{typ: CmdScan, req: req, ctx: ctx, key: req.StartKey, readTS: ts,
			desc: fmt.Sprintf("KvScan [%q,%q) reverse=%v limit=%d key_only=%v @%d iso=%s resolved=%v", req.StartKey, req.EndKey, req.Reverse, req.Limit, req.KeyOnly, ts, ctx.IsolationLevel, ctx.ResolvedLocks)}
	}
}

func okKeyErrs(resp *Response) bool {
	switch r := resp.Resp.(type) {
	case *kvrpcpb.PrewriteResponse:
		return r.RegionError == nil && len(r.Errors) == 0
	case *kvrpcpb.PessimisticLockResponse:
		return r.RegionError == nil && len(r.Errors) == 0
	case *kvrpcpb.CommitResponse:
		return r.RegionError == nil && r.Error == nil
	case *kvrpcpb.BatchRollbackResponse:
		return r.RegionError == nil && r.Error == nil
	case *kvrpcpb.ResolveLockResponse:
		return r.RegionError == nil && r.Error == nil
	case *kvrpcpb.CleanupResponse:
		return r.RegionError == nil && r.Error == nil
	case *kvrpcpb.CheckTxnStatusResponse:
		return r.RegionError == nil && r.Error == nil
	case *kvrpcpb.DeleteRangeResponse:
		return r.RegionError == nil && r.Error == ""
	}
	return false
}

func (m *model) lockCmd() *command {
	t := m.pickLive(func(t *txn) bool { return t.pessimistic && t.mutations == nil })
	if t == nil {
		return nil
	}
	var keys [][]byte
	if t.locked[string(t.primary())] == 0 {
		keys = append(keys, t.primary()) // the primary is locked first, as clients do
	}
	for _, k := range t.keys[1:] {
		if len(keys) == 0 || m.chance(0.6) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		keys = [][]byte{t.primary()}
	}
	relock := false // a key this txn already holds a pessimistic lock on
	for _, k := range keys {
		relock = relock || t.locked[string(k)] != 0
	}
	forUpdate := m.ts()
	if !relock && m.chance(0.15) {
		// Stale: meets write conflicts. Not on a re-lock: TiKV does not
		// check conflicts on its own lock, mocktikv does
		// (knownDifferences: relock-checks).
		forUpdate = t.start
	}
	req := &kvrpcpb.PessimisticLockRequest{
		PrimaryLock: t.primary(), StartVersion: t.start, LockTtl: t.ttl, ForUpdateTs: forUpdate,
		IsFirstLock: len(t.locked) == 0, WaitTimeout: -1, // no waiting: see knownDifferences
	}
	switch r := m.rng.IntN(10); {
	case r < 2:
		req.ReturnValues = true
	case r < 3 && !relock:
		// Not on a re-lock: TiKV raises the lock's for_update_ts even for
		// a missing key, mocktikv does not (knownDifferences: relock-checks).
		req.ReturnValues, req.LockOnlyIfExists = true, true
	case r < 5:
		req.CheckExistence = true
	}
	for _, k := range keys {
		mu := &kvrpcpb.Mutation{Op: kvrpcpb.Op_PessimisticLock, Key: k}
		// mocktikv treats a committed Lock record as "exists" for NotExist
		// (knownDifferences: not-exist-over-lock-record); such keys get none.
		// Nor on a re-lock, where TiKV skips the check and mocktikv does
		// not (knownDifferences: relock-checks).
		if !m.lockRecord[string(k)] && t.locked[string(k)] == 0 && m.chance(0.15) {
			mu.Assertion = kvrpcpb.Assertion_NotExist
		}
		req.Mutations = append(req.Mutations, mu)
	}
	c := &command{typ: CmdPessimisticLock, req: req, key: keys[0], txn: t,
		desc: fmt.Sprintf("KvPessimisticLock %v keys=%q for_update=%d return_values=%v check_existence=%v only_if_exists=%v", t, keys, forUpdate, req.ReturnValues, req.CheckExistence, req.LockOnlyIfExists)}
	c.observe = func(resp *Response) {
		if !okKeyErrs(resp) {
			return
		}
		r := resp.Resp.(*kvrpcpb.PessimisticLockResponse)
		for i, k := range keys {
			if req.LockOnlyIfExists && i < len(r.NotFounds) && r.NotFounds[i] {
				continue // nothing locked for a missing key
			}
			t.locked[string(k)] = max(t.locked[string(k)], forUpdate)
			t.touched[string(k)] = true
		}
		t.forUpdate = max(t.forUpdate, forUpdate)
	}
	return c
}

func (m *model) prewriteCmd() *command {
	t := m.pickLive(func(t *txn) bool { return t.commitTS == 0 })
	if t == nil {
		return nil
	}
	if t.mutations != nil {
		// A retried prewrite. Not for Insert: mocktikv reads its own lock as
		// a conflict there (knownDifferences: insert-over-own-lock).
		if t.hasInsert || t.prewrites == 0 && m.chance(0.5) {
			return nil
		}
		return m.prewriteRequest(t, t.mutations)
	}
	var muts []*kvrpcpb.Mutation
	if t.pessimistic {
		if len(t.locked) == 0 {
			return nil
		}
		for _, k := range t.keys {
			if t.locked[string(k)] == 0 {
				continue
			}
			// mocktikv checks write conflicts against start_ts even for keys
			// this txn already locked (knownDifferences:
			// pessimistic-prewrite-conflict-check); skip the prewrite
			// rather than fork the two stores.
			if m.maxWrite[string(k)] > t.start {
				return nil
			}
			op := []kvrpcpb.Op{kvrpcpb.Op_Put, kvrpcpb.Op_Put, kvrpcpb.Op_Del, kvrpcpb.Op_Lock}[m.rng.IntN(4)]
			mu := &kvrpcpb.Mutation{Op: op, Key: k}
			if op == kvrpcpb.Op_Put {
				mu.Value = m.value()
			}
			muts = append(muts, mu)
		}
	} else {
		for _, k := range t.keys {
			var op kvrpcpb.Op
			switch r := m.rng.IntN(20); {
			case r < 12:
				op = kvrpcpb.Op_Put
			case r < 15:
				op = kvrpcpb.Op_Del
			case r < 17:
				op = kvrpcpb.Op_Lock
			default:
				// No CheckNotExists: mocktikv never checks locks for it
				// (knownDifferences: check-not-exists-locks).
				op = kvrpcpb.Op_Insert
				t.hasInsert = true
			}
			mu := &kvrpcpb.Mutation{Op: op, Key: k}
			if op == kvrpcpb.Op_Put || op == kvrpcpb.Op_Insert {
				mu.Value = m.value()
			}
			muts = append(muts, mu)
		}
	}
	t.mutations = muts
	return m.prewriteRequest(t, muts)
}

func (m *model) prewriteRequest(t *txn, muts []*kvrpcpb.Mutation) *command {
	req := &kvrpcpb.PrewriteRequest{
		Mutations: muts, PrimaryLock: t.primary(), StartVersion: t.start, LockTtl: t.ttl,
		TxnSize: uint64(len(muts)),
	}
	if m.chance(0.3) {
		req.MinCommitTs = t.start + 1
	}
	if t.pessimistic {
		req.ForUpdateTs = t.forUpdate
		for range muts {
			req.PessimisticActions = append(req.PessimisticActions, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK)
		}
	}
	var desc []string
	for _, mu := range muts {
		desc = append(desc, fmt.Sprintf("%s(%q=%q)", mu.Op, mu.Key, mu.Value))
	}
	c := &command{typ: CmdPrewrite, req: req, key: muts[0].Key, txn: t,
		desc: fmt.Sprintf("KvPrewrite %v [%s] ttl=%d min_commit=%d for_update=%d", t, strings.Join(desc, " "), t.ttl, req.MinCommitTs, req.ForUpdateTs)}
	c.observe = func(resp *Response) {
		if !okKeyErrs(resp) {
			return
		}
		t.prewrites++
		t.minCommit = max(t.minCommit, req.MinCommitTs)
		for _, mu := range muts {
			if mu.Op != kvrpcpb.Op_CheckNotExists {
				t.touched[string(mu.Key)] = true
			}
		}
	}
	return c
}

// written returns the keys of t's prewrite that hold a lock after it.
func (t *txn) written() [][]byte {
	var out [][]byte
	for _, mu := range t.mutations {
		if mu.Op != kvrpcpb.Op_CheckNotExists {
			out = append(out, mu.Key)
		}
	}
	return out
}

func (t *txn) mutationOf(key []byte) *kvrpcpb.Mutation {
	for _, mu := range t.mutations {
		if bytes.Equal(mu.Key, key) {
			return mu
		}
	}
	return nil
}

func (m *model) commitCmd() *command {
	t := m.pickLive(func(t *txn) bool { return t.prewrites > 0 })
	if t == nil {
		return nil
	}
	if t.commitTS == 0 {
		// Commit the primary alone first, as clients do. A primary that is
		// not in the prewrite may hold a bare pessimistic lock, which
		// mocktikv would commit as a Delete (knownDifferences:
		// commit-pessimistic-lock); roll back instead.
		pm := t.mutationOf(t.primary())
		if pm == nil || pm.Op == kvrpcpb.Op_CheckNotExists {
			return m.rollbackCmd()
		}
		commitTS := m.ts()
		if m.chance(0.15) {
			commitTS = t.start + 1 // below a pushed min_commit_ts: CommitTsExpired
		}
		req := &kvrpcpb.CommitRequest{StartVersion: t.start, Keys: [][]byte{t.primary()}, CommitVersion: commitTS}
		c := &command{typ: CmdCommit, req: req, key: t.primary(), txn: t, desc: fmt.Sprintf("KvCommit primary %v %q @%d", t, t.primary(), commitTS)}
		c.observe = func(resp *Response) {
			if !okKeyErrs(resp) {
				return
			}
			t.commitTS = commitTS
			m.bumpWrite(t.primary(), commitTS)
			if pm.Op == kvrpcpb.Op_Lock {
				m.lockRecord[string(t.primary())] = true
			}
		}
		return c
	}
	var secondaries [][]byte
	for _, k := range t.written() {
		if !bytes.Equal(k, t.primary()) {
			secondaries = append(secondaries, k)
		}
	}
	if len(secondaries) == 0 {
		t.done = true
		return nil
	}
	req := &kvrpcpb.CommitRequest{StartVersion: t.start, Keys: secondaries, CommitVersion: t.commitTS}
	c := &command{typ: CmdCommit, req: req, key: secondaries[0], txn: t, desc: fmt.Sprintf("KvCommit secondaries %v %q @%d", t, secondaries, t.commitTS)}
	c.observe = func(resp *Response) {
		if !okKeyErrs(resp) {
			return
		}
		m.committed(t, secondaries)
	}
	return c
}

func (m *model) committed(t *txn, keys [][]byte) {
	for _, k := range keys {
		m.bumpWrite(k, t.commitTS)
		if mu := t.mutationOf(k); mu != nil && mu.Op == kvrpcpb.Op_Lock {
			m.lockRecord[string(k)] = true
		}
	}
	t.done = true
}

// rolledBack retires t and, sometimes, schedules one late request of t
// right after, to exercise "already rolled back" answers.
func (m *model) rolledBack(t *txn, keys [][]byte) {
	for _, k := range keys {
		m.bumpWrite(k, t.start)
	}
	if t.retired {
		return
	}
	t.retired = true
	if !m.chance(0.4) {
		return
	}
	switch {
	case t.pessimistic && t.mutations == nil:
		fu := m.ts()
		req := &kvrpcpb.PessimisticLockRequest{PrimaryLock: t.primary(), StartVersion: t.start, LockTtl: t.ttl, ForUpdateTs: fu, WaitTimeout: -1,
			Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_PessimisticLock, Key: keys[0]}}}
		c := &command{typ: CmdPessimisticLock, req: req, key: keys[0], txn: t, lateAfterRollback: true,
			desc: fmt.Sprintf("late KvPessimisticLock %v %q for_update=%d", t, keys[0], fu)}
		c.observe = func(resp *Response) {
			if okKeyErrs(resp) {
				t.touched[string(keys[0])] = true // a stray lock; ResolveLock may clear it
			}
		}
		m.pending = append(m.pending, c)
	case !t.pessimistic && t.mutations != nil:
		// Replay the prewrite with Insert/CheckNotExists turned into Put:
		// mocktikv checks existence before the rollback record
		// (knownDifferences: insert-before-self-rollback).
		var muts []*kvrpcpb.Mutation
		for _, mu := range t.mutations {
			cp := *mu
			if cp.Op == kvrpcpb.Op_Insert || cp.Op == kvrpcpb.Op_CheckNotExists {
				cp.Op, cp.Value = kvrpcpb.Op_Put, m.value()
			}
			muts = append(muts, &cp)
		}
		c := m.prewriteRequest(t, muts)
		c.desc = "late " + c.desc
		c.lateAfterRollback = true
		c.observe = func(resp *Response) {
			if okKeyErrs(resp) {
				for _, mu := range muts {
					t.touched[string(mu.Key)] = true
				}
			}
		}
		m.pending = append(m.pending, c)
	default:
		ts := m.ts()
		req := &kvrpcpb.CommitRequest{StartVersion: t.start, Keys: [][]byte{keys[0]}, CommitVersion: ts}
		m.pending = append(m.pending, &command{typ: CmdCommit, req: req, key: keys[0], txn: t, lateAfterRollback: true,
			desc: fmt.Sprintf("late KvCommit %v %q @%d", t, keys[0], ts)})
	}
}

func (m *model) rollbackCmd() *command {
	t := m.pickLive(func(t *txn) bool { return t.commitTS == 0 })
	if t == nil {
		return nil
	}
	keys := m.sortedKeys(t.keys)
	req := &kvrpcpb.BatchRollbackRequest{StartVersion: t.start, Keys: keys}
	c := &command{typ: CmdBatchRollback, req: req, key: keys[0], txn: t, desc: fmt.Sprintf("KvBatchRollback %v %q", t, keys)}
	c.observe = func(resp *Response) {
		if okKeyErrs(resp) {
			m.rolledBack(t, keys)
		}
	}
	return c
}

func (m *model) cleanupCmd() *command {
	// Only keys where the txn surely left a lock or a record: on a key with
	// neither, mocktikv writes nothing while TiKV writes a protected rollback
	// (knownDifferences: cleanup-without-lock).
	t := m.pickLive(func(t *txn) bool { return len(t.touched) > 0 })
	if t == nil {
		return nil
	}
	var keys [][]byte
	for _, k := range t.keys {
		if t.touched[string(k)] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	key := keys[m.rng.IntN(len(keys))]
	current := m.ts()
	if m.chance(0.25) {
		current = 0 // roll back whatever the TTL
	}
	req := &kvrpcpb.CleanupRequest{Key: key, StartVersion: t.start, CurrentTs: current}
	c := &command{typ: CmdCleanup, req: req, key: key, txn: t, desc: fmt.Sprintf("KvCleanup %v %q current=%d", t, key, current)}
	c.observe = func(resp *Response) {
		r := resp.Resp.(*kvrpcpb.CleanupResponse)
		if okKeyErrs(resp) && r.CommitVersion == 0 {
			m.rolledBack(t, [][]byte{key})
		}
	}
	return c
}

func (m *model) checkTxnStatusCmd() *command {
	t := m.pickLive(func(*txn) bool { return true })
	if t == nil {
		return nil
	}
	caller := m.ts()
	if m.chance(0.15) {
		caller = math.MaxUint64
	}
	current := m.ts()
	if m.chance(0.1) {
		current = 0 // never expired
	}
	req := &kvrpcpb.CheckTxnStatusRequest{PrimaryKey: t.primary(), LockTs: t.start, CallerStartTs: caller, CurrentTs: current, RollbackIfNotExist: m.chance(0.6)}
	c := &command{typ: CmdCheckTxnStatus, req: req, key: t.primary(), txn: t,
		desc: fmt.Sprintf("KvCheckTxnStatus %v primary=%q caller=%d current=%d rollback_if_not_exist=%v", t, t.primary(), caller, current, req.RollbackIfNotExist)}
	c.observe = func(resp *Response) {
		if !okKeyErrs(resp) {
			return
		}
		r := resp.Resp.(*kvrpcpb.CheckTxnStatusResponse)
		switch {
		case r.Action == kvrpcpb.Action_MinCommitTSPushed:
			if caller != math.MaxUint64 {
				t.minCommit = max(t.minCommit, caller+1, current)
			}
		case r.CommitVersion > 0, r.LockTtl > 0:
		default: // rolled back now or before
			m.rolledBack(t, [][]byte{t.primary()})
		}
	}
	return c
}

func (m *model) resolveLockCmd() *command {
	// Commit: only for a committed primary, at its commit ts, and only once
	// the prewrite covered every lock (a bare pessimistic lock would be
	// committed as a Delete by mocktikv: knownDifferences:
	// commit-pessimistic-lock). Rollback: any transaction not committed.
	var cands []*txn
	for _, t := range m.txns {
		if !t.done && (t.commitTS == 0 || t.mutations != nil) {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	t := cands[m.rng.IntN(len(cands))]
	req := &kvrpcpb.ResolveLockRequest{StartVersion: t.start, CommitVersion: t.commitTS}
	c := &command{typ: CmdResolveLock, req: req, key: m.keys[0], txn: t, desc: fmt.Sprintf("KvResolveLock %v commit=%d", t, t.commitTS)}
	c.observe = func(resp *Response) {
		if !okKeyErrs(resp) {
			return
		}
		if t.commitTS > 0 {
			m.committed(t, t.written())
			return
		}
		var keys [][]byte
		for k := range t.touched {
			keys = append(keys, []byte(k))
		}
		slices.SortFunc(keys, bytes.Compare)
		if len(keys) == 0 {
			t.retired = true
			return
		}
		m.rolledBack(t, keys)
	}
	return c
}

func (m *model) scanLockCmd() *command {
	ts := m.ts()
	if m.chance(0.4) && len(m.txns) > 0 {
		ts = m.txns[m.rng.IntN(len(m.txns))].start
	}
	req := &kvrpcpb.ScanLockRequest{MaxVersion: ts}
	return &command{typ: CmdScanLock, req: req, key: m.keys[0], desc: fmt.Sprintf("KvScanLock max=%d", ts)}
}

func (m *model) deleteRangeCmd() *command {
	ks := m.sortedKeys(m.pickKeys(2))
	req := &kvrpcpb.DeleteRangeRequest{StartKey: ks[0], EndKey: ks[1]}
	c := &command{typ: CmdDeleteRange, req: req, key: ks[0], desc: fmt.Sprintf("KvDeleteRange [%q,%q)", ks[0], ks[1])}
	c.observe = func(resp *Response) {
		if !okKeyErrs(resp) {
			return
		}
		// Every lock and record in the range is gone: no transaction's
		// history can be reasoned about any more.
		for _, t := range m.txns {
			t.retired = true
		}
	}
	return c
}

// nextRaw draws a RawKV command. rawData mirrors the store exactly, so CAS
// is only sent where mocktikv behaves: on existing keys, without
// previous_not_exist or delete (knownDifferences: raw-cas-absent-key).
func (m *model) nextRaw() *command {
	switch r := m.rng.IntN(100); {
	case r < 15:
		key := m.pickKey()
		req := &kvrpcpb.RawGetRequest{Key: key}
		return &command{typ: CmdRawGet, req: req, key: key, mode: RawKey, desc: fmt.Sprintf("RawGet %q", key)}
	case r < 25:
		keys := m.pickKeys(1 + m.rng.IntN(4))
		req := &kvrpcpb.RawBatchGetRequest{Keys: keys}
		return &command{typ: CmdRawBatchGet, req: req, key: keys[0], mode: RawKey, desc: fmt.Sprintf("RawBatchGet %q", keys)}
	case r < 42:
		key, val := m.pickKey(), m.value()
		req := &kvrpcpb.RawPutRequest{Key: key, Value: val}
		m.rawData[string(key)] = string(val)
		return &command{typ: CmdRawPut, req: req, key: key, mode: RawKey, desc: fmt.Sprintf("RawPut %q=%q", key, val)}
	case r < 52:
		keys := m.pickKeys(1 + m.rng.IntN(4))
		req := &kvrpcpb.RawBatchPutRequest{}
		for _, k := range keys {
			v := m.value()
			req.Pairs = append(req.Pairs, &kvrpcpb.KvPair{Key: k, Value: v})
			m.rawData[string(k)] = string(v)
		}
		return &command{typ: CmdRawBatchPut, req: req, key: keys[0], mode: RawKey, desc: fmt.Sprintf("RawBatchPut %q", keys)}
	case r < 60:
		key := m.pickKey()
		delete(m.rawData, string(key))
		return &command{typ: CmdRawDelete, req: &kvrpcpb.RawDeleteRequest{Key: key}, key: key, mode: RawKey, desc: fmt.Sprintf("RawDelete %q", key)}
	case r < 65:
		keys := m.pickKeys(1 + m.rng.IntN(3))
		for _, k := range keys {
			delete(m.rawData, string(k))
		}
		return &command{typ: CmdRawBatchDelete, req: &kvrpcpb.RawBatchDeleteRequest{Keys: keys}, key: keys[0], mode: RawKey, desc: fmt.Sprintf("RawBatchDelete %q", keys)}
	case r < 69:
		ks := m.sortedKeys(m.pickKeys(2))
		for k := range m.rawData {
			if k >= string(ks[0]) && k < string(ks[1]) {
				delete(m.rawData, k)
			}
		}
		req := &kvrpcpb.RawDeleteRangeRequest{StartKey: ks[0], EndKey: ks[1]}
		return &command{typ: CmdRawDeleteRange, req: req, key: ks[0], mode: RawKey, desc: fmt.Sprintf("RawDeleteRange [%q,%q)", ks[0], ks[1])}
	case r < 85:
		req := &kvrpcpb.RawScanRequest{Limit: uint32(1 + m.rng.IntN(keyCount+1)), KeyOnly: m.chance(0.2)}
		if m.chance(0.5) {
			req.Reverse = true
			req.StartKey = []byte(fmt.Sprintf("r%d", m.rng.IntN(keyCount+1)))
			if m.chance(0.6) {
				req.EndKey = m.pickKey()
			}
		} else {
			req.StartKey = m.pickKey()
			if m.chance(0.5) {
				req.EndKey = m.pickKey()
			}
		}
		return &command{typ: CmdRawScan, req: req, key: req.StartKey, mode: RawKey,
			desc: fmt.Sprintf("RawScan [%q,%q) reverse=%v limit=%d key_only=%v", req.StartKey, req.EndKey, req.Reverse, req.Limit, req.KeyOnly)}
	default:
		var existing []string
		for k := range m.rawData {
			existing = append(existing, k)
		}
		if len(existing) == 0 {
			return m.nextRaw()
		}
		slices.Sort(existing)
		key := existing[m.rng.IntN(len(existing))]
		prev := []byte(m.rawData[key])
		if m.chance(0.4) {
			prev = []byte("stale")
		}
		val := m.value()
		if bytes.Equal(prev, []byte(m.rawData[key])) {
			m.rawData[key] = string(val)
		}
		req := &kvrpcpb.RawCASRequest{Key: []byte(key), Value: val, PreviousValue: prev}
		return &command{typ: CmdRawCompareAndSwap, req: req, key: []byte(key), mode: RawKey,
			desc: fmt.Sprintf("RawCompareAndSwap %q %q->%q", key, prev, val)}
	}
}

func (m *model) heartBeatCmd() *command {
	t := m.pickLive(func(*txn) bool { return true })
	if t == nil {
		return nil
	}
	advise := []uint64{ttlShort, ttlMedium * 4, ttlForever}[m.rng.IntN(3)]
	// Always on the primary: mocktikv refuses a non-primary key, TiKV does
	// not check (knownDifferences: heartbeat-primary-only).
	req := &kvrpcpb.TxnHeartBeatRequest{PrimaryLock: t.primary(), StartVersion: t.start, AdviseLockTtl: advise}
	c := &command{typ: CmdTxnHeartBeat, req: req, key: t.primary(), txn: t,
		desc: fmt.Sprintf("KvTxnHeartBeat %v primary=%q advise_ttl=%d", t, t.primary(), advise)}
	c.observe = func(resp *Response) {
		if r := resp.Resp.(*kvrpcpb.TxnHeartBeatResponse); r.RegionError == nil && r.Error == nil && r.LockTtl > t.ttl {
			t.ttlRaised = true
		}
	}
	return c
}

func (m *model) pessimisticRollbackCmd() *command {
	t := m.pickLive(func(t *txn) bool { return t.pessimistic && t.mutations == nil && len(t.locked) > 0 })
	if t == nil {
		return nil
	}
	var keys [][]byte
	for _, k := range t.keys {
		if t.locked[string(k)] != 0 && (len(keys) == 0 || m.chance(0.5)) {
			keys = append(keys, k)
		}
	}
	forUpdate := t.forUpdate
	if m.chance(0.2) {
		forUpdate = t.start // below the locks' for_update_ts: nothing is removed
	}
	req := &kvrpcpb.PessimisticRollbackRequest{StartVersion: t.start, ForUpdateTs: forUpdate, Keys: keys}
	c := &command{typ: CmdPessimisticRollback, req: req, key: keys[0], txn: t,
		desc: fmt.Sprintf("KvPessimisticRollback %v %q for_update=%d", t, keys, forUpdate)}
	c.observe = func(resp *Response) {
		r := resp.Resp.(*kvrpcpb.PessimisticRollbackResponse)
		if r.RegionError != nil || len(r.Errors) > 0 {
			return
		}
		// Locks with for_update_ts <= the request's are gone, without a
		// rollback record: those keys are no longer "touched" (Cleanup there
		// would hit cleanup-without-lock).
		for _, k := range keys {
			if fu := t.locked[string(k)]; fu != 0 && fu <= forUpdate {
				delete(t.locked, string(k))
				delete(t.touched, string(k))
			}
		}
	}
	return c
}
