package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// handling says how the differential test deals with a known difference.
type handling int

const (
	// notCompared: the field is left out of every view (view_test.go), so it
	// is never compared.
	notCompared handling = iota
	// acceptedWhenSeen: the two responses may differ in exactly this way;
	// accept says whether a mismatch is this case. State is unaffected
	// (both sides failed, or the command is a read).
	acceptedWhenSeen
	// notGenerated: the difference would make the two stores' states fork,
	// so the workload never sends the triggering request (workload_test.go
	// names the rule where it steers around it).
	notGenerated
)

func (h handling) String() string {
	return [...]string{"not compared", "accepted when seen", "not generated"}[h]
}

// knownDifference is one place where client-go's mocktikv is simplified
// (semantics doc §10 and the per-RPC "mocktikv:" notes of §3) and its answer
// may legitimately differ from TiKV's, hence from tikvsim's.
//
// The rows were written against client-go v2.0.4 and re-checked against
// the mocktikv of v2.0.8-0.20260803075849-c3b50791b9fb, which the
// differential test now runs. Its changes since v2.0.4 leave every row
// standing: Get and BatchGet can return commit_ts when need_commit_ts is set
// (as TiKV does; the workload does not set it), PessimisticRollback with no
// keys rolls back the txn's pessimistic locks in the whole region (the
// workload always names keys), a first pessimistic lock with
// lock_only_if_exists on a deleted key now reports the write conflict
// (re-locks, the relock-checks row, are unchanged), and RawDeleteRange
// panics on a range outside the region (keys-outside-region). Not found,
// commit_version, lock_info, ScanLock's LockInfo and the rest are filled
// exactly as before.
type knownDifference struct {
	name    string
	cmds    []CmdType
	ref     string // semantics doc section
	reason  string
	handled handling
	// accept reports whether a mismatch between the mock's and the
	// simulator's answer to c is exactly this difference. Only for
	// acceptedWhenSeen.
	accept func(c *command, mock, sim observed, m *model) bool
}

// observed is one target's answer to a command.
type observed struct {
	resp *Response
	view view
}

var knownDifferences = []knownDifference{
	// Fields never compared.
	{name: "get-not-found-flag", cmds: []CmdType{CmdGet}, ref: "§3.1", handled: notCompared,
		reason: "mocktikv never sets GetResponse.not_found; the view derives not-found from an empty value (the workload writes only non-empty values)"},
	{name: "lock-info-extras", cmds: []CmdType{CmdGet, CmdBatchGet, CmdScan, CmdPrewrite, CmdPessimisticLock, CmdCleanup}, ref: "§1.2, §10", handled: notCompared,
		reason: "mocktikv's LockInfo has no min_commit_ts, use_async_commit, secondaries or duration_to_last_update_ms, and no lock_for_update_ts on prewrite locks of pessimistic txns (it does not store it); lock_for_update_ts is compared for pessimistic locks only"},
	{name: "write-conflict-extras", cmds: []CmdType{CmdPrewrite, CmdPessimisticLock}, ref: "§2.2, §2.3", handled: notCompared,
		reason: "mocktikv's WriteConflict has no primary and no reason, and its KeyError has no retryable text beside the conflict"},
	{name: "pessimistic-conflict-start-ts", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5", handled: notCompared,
		reason: "mocktikv puts for_update_ts into WriteConflict.start_ts of a pessimistic lock; TiKV puts the txn's start_ts"},
	{name: "pessimistic-lock-error-count", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5", handled: notCompared,
		reason: "mocktikv returns one error per failing key, TiKV only the first; only the first is compared"},
	{name: "error-texts", ref: "§2.2", handled: notCompared,
		reason: "abort/retryable texts and raw error strings are implementation debug text (clients never parse them); only their presence is compared"},
	{name: "deadlock-extras", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5", handled: notCompared,
		reason: "deadlock_key_hash and wait_chain differ by construction (mocktikv hashes with farm; TiKV reports a wait chain)"},
	{name: "commit-version-field", cmds: []CmdType{CmdCommit}, ref: "§3.9", handled: notCompared,
		reason: "mocktikv does not fill CommitResponse.commit_version"},
	{name: "check-txn-status-lock-info", cmds: []CmdType{CmdCheckTxnStatus}, ref: "§3.8", handled: notCompared,
		reason: "mocktikv never returns lock_info"},
	{name: "scan-lock-fields", cmds: []CmdType{CmdScanLock}, ref: "§3.13", handled: notCompared,
		reason: "mocktikv's ScanLock LockInfo carries only key, primary and start ts"},
	{name: "key-only", cmds: []CmdType{CmdScan, CmdRawScan}, ref: "§3.2, §3.21", handled: notCompared,
		reason: "mocktikv ignores key_only and returns values; values are not compared when key_only is set"},
	{name: "raw-batch-get-missing-keys", cmds: []CmdType{CmdRawBatchGet}, ref: "§3.21", handled: notCompared,
		reason: "mocktikv returns a pair with an empty value for a missing key; TiKV omits it (pairs without value and error are dropped on both sides)"},

	// Differences accepted when they show up.
	{name: "deadlock-without-waiting", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5, §10", handled: acceptedWhenSeen,
		reason: "mocktikv runs its deadlock detector even when wait_timeout < 0; TiKV detects deadlocks only when a request starts waiting, so it answers KeyIsLocked for the same lock",
		accept: func(c *command, mock, sim observed, _ *model) bool {
			if len(mock.view.Errs) != 1 || len(sim.view.Errs) != 1 || !strings.HasPrefix(mock.view.Errs[0], "deadlock{") || !strings.HasPrefix(sim.view.Errs[0], "locked{") {
				return false
			}
			d := mock.resp.Resp.(*kvrpcpb.PessimisticLockResponse).Errors[0].Deadlock
			l := sim.resp.Resp.(*kvrpcpb.PessimisticLockResponse).Errors[0].Locked
			return d.LockTs == l.LockVersion
		}},
	{name: "commit-txn-lock-not-found", cmds: []CmdType{CmdCommit}, ref: "§3.9", handled: acceptedWhenSeen,
		reason: "for a commit that finds neither the lock nor a commit record, mocktikv returns a bare retryable error; TiKV returns TxnLockNotFound{key}; both write nothing",
		accept: func(c *command, mock, sim observed, _ *model) bool {
			return slices.Equal(mock.view.Errs, []string{"retryable{}"}) && len(sim.view.Errs) == 1 && strings.HasPrefix(sim.view.Errs[0], "txn_lock_not_found{")
		}},
	{name: "self-rolled-back", cmds: []CmdType{CmdPrewrite}, ref: "§3.4, §1.5", handled: acceptedWhenSeen,
		reason: "a prewrite that meets its own rollback record fails with abort in mocktikv and with WriteConflict(SelfRolledBack) in TiKV",
		accept: func(c *command, mock, sim observed, _ *model) bool {
			if !slices.Equal(mock.view.Errs, []string{"abort{}"}) {
				return false
			}
			errs := sim.resp.Resp.(*kvrpcpb.PrewriteResponse).Errors
			return len(errs) == 1 && errs[0].Conflict != nil && errs[0].Conflict.Reason == kvrpcpb.WriteConflict_SelfRolledBack
		}},
	{name: "insert-existence-first", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: acceptedWhenSeen,
		reason: "for Insert/CheckNotExists mocktikv first reads the key at start_ts (skipping Lock/Pessimistic locks and newer commits) and reports AlreadyExist; TiKV checks locks (collecting KeyIsLocked and going on), then newer writes (WriteConflict), then existence, so it may report locks, a conflict or another Insert key; both write nothing",
		accept: func(c *command, mock, sim observed, _ *model) bool {
			if len(mock.view.Errs) != 1 || !strings.HasPrefix(mock.view.Errs[0], "already_exist{") || len(sim.view.Errs) == 0 {
				return false
			}
			inserts := map[string]bool{}
			for _, mu := range c.req.(*kvrpcpb.PrewriteRequest).Mutations {
				if mu.Op == kvrpcpb.Op_Insert || mu.Op == kvrpcpb.Op_CheckNotExists {
					inserts[string(mu.Key)] = true
				}
			}
			if !inserts[string(mock.resp.Resp.(*kvrpcpb.PrewriteResponse).Errors[0].AlreadyExist.Key)] {
				return false
			}
			// TiKV collects KeyIsLocked for the key mocktikv found to exist
			// and goes on; a later Insert key may then fail AlreadyExist.
			for _, e := range sim.resp.Resp.(*kvrpcpb.PrewriteResponse).Errors {
				switch {
				case e.Locked != nil, e.Conflict != nil:
				case e.AlreadyExist != nil && inserts[string(e.AlreadyExist.Key)]:
				default:
					return false
				}
			}
			return true
		}},
	{name: "prewrite-already-committed", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: acceptedWhenSeen,
		reason: "a prewrite of a txn that already committed the key succeeds in TiKV without writing (idempotent-retry check); mocktikv has no such check and reports the txn's own commit record as a WriteConflict (or whatever error a later key of the request meets); both write nothing",
		accept: func(c *command, mock, sim observed, _ *model) bool {
			return c.txn != nil && c.txn.commitTS > 0 && len(sim.view.Errs) == 0 && sim.view.RegionErr == "" && len(mock.view.Errs) > 0
		}},
	{name: "heartbeat-txn-not-found", cmds: []CmdType{CmdTxnHeartBeat}, ref: "§3.7", handled: acceptedWhenSeen,
		reason: "a heartbeat that finds no lock of the txn fails with a plain error (abort) in mocktikv and with TxnNotFound in TiKV; neither writes",
		accept: func(c *command, mock, sim observed, _ *model) bool {
			return slices.Equal(mock.view.Errs, []string{"abort{}"}) && len(sim.view.Errs) == 1 && strings.HasPrefix(sim.view.Errs[0], "txn_not_found{")
		}},
	{name: "read-below-min-commit-ts", cmds: []CmdType{CmdGet, CmdBatchGet, CmdScan}, ref: "§1.7.1, §3.1", handled: acceptedWhenSeen,
		reason: "TiKV ignores a lock whose min_commit_ts > read_ts; mocktikv does not, and reports KeyIsLocked. Accepted only for locks of a txn with start_ts <= read_ts < min_commit_ts (an upper bound the workload tracks); Get and BatchGet compare every other key, Scan (whose limit then covers different keys) only checks that tikvsim reports no lock mocktikv does not",
		accept: acceptReadBelowMinCommitTS},
	// Differences the workload steers around.
	{name: "cleanup-without-lock", cmds: []CmdType{CmdCleanup}, ref: "§3.10, §1.5", handled: notGenerated,
		reason: "mocktikv's Cleanup of a key with neither lock nor record builds a rollback but never writes it; TiKV writes a protected rollback. Cleanup is only sent for keys where the txn surely left a lock or record"},
	{name: "pessimistic-prewrite-conflict-check", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: notGenerated,
		reason: "mocktikv checks write conflicts against start_ts even for DO_PESSIMISTIC_CHECK keys it holds a pessimistic lock on; TiKV skips the constraint check there. Pessimistic prewrites are only sent when no write newer than start_ts can exist on their keys"},
	{name: "skip-pessimistic-check", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: notGenerated,
		reason: "mocktikv runs the optimistic conflict check for SKIP_PESSIMISTIC_CHECK mutations; TiKV skips it (unless is_retry_request). Pessimistic prewrites only carry DO_PESSIMISTIC_CHECK"},
	{name: "pessimistic-amend", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: notGenerated,
		reason: "DO_PESSIMISTIC_CHECK without a lock: mocktikv always aborts, TiKV amends when no newer write exists. Only sent right after the txn's own rollback, where both abort"},
	{name: "lock-type-not-match", cmds: []CmdType{CmdPrewrite, CmdPessimisticLock}, ref: "§3.4, §3.5", handled: notGenerated,
		reason: "mocktikv overwrites an own pessimistic lock with an optimistic prewrite and an own prewrite lock with a pessimistic lock; TiKV answers LockTypeNotMatch. Pessimistic txns always prewrite pessimistically and lock nothing after prewriting"},
	{name: "commit-pessimistic-lock", cmds: []CmdType{CmdCommit, CmdResolveLock}, ref: "§3.9, §3.14", handled: notGenerated,
		reason: "mocktikv commits a bare pessimistic lock as a Delete record; TiKV removes it without writing. Commits only cover prewritten keys, and ResolveLock commits only txns whose prewrite covered every lock"},
	{name: "commit-ts-checks", cmds: []CmdType{CmdCommit, CmdResolveLock}, ref: "§3.9, §3.14", handled: notGenerated,
		reason: "mocktikv accepts commit_ts <= start_ts and checks min_commit_ts only on the primary (it stores it nowhere else) and never in ResolveLock; commits use commit_ts > start_ts and secondaries commit at the primary's ts"},
	{name: "check-not-exists-locks", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: notGenerated,
		reason: "mocktikv checks a CheckNotExists mutation only by a snapshot read at start_ts, so another txn's Lock/Pessimistic lock, or a lock newer than start_ts, is ignored and the rest of the prewrite is written; TiKV reports KeyIsLocked. CheckNotExists is not sent (Insert covers the existence check)"},
	{name: "insert-over-own-lock", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: notGenerated,
		reason: "a retried prewrite with Insert meets its own lock: mocktikv's existence read reports KeyIsLocked, TiKV succeeds idempotently. Prewrites with Insert are not retried after success"},
	{name: "insert-before-self-rollback", cmds: []CmdType{CmdPrewrite}, ref: "§3.4", handled: notGenerated,
		reason: "after a rollback, Insert: mocktikv checks existence before the rollback record, TiKV the other way round. Late prewrites turn Insert into Put"},
	{name: "not-exist-over-lock-record", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5", handled: notGenerated,
		reason: "mocktikv's NotExist check on a pessimistic lock treats a committed Lock record as an existing value; TiKV skips Lock records. NotExist is not asked on keys that may hold a Lock record"},
	{name: "relock-checks", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5", handled: notGenerated,
		reason: "on a key the txn already holds a pessimistic lock on, TiKV only re-reads the value and raises for_update_ts (no conflict, NotExist or lock_only_if_exists handling); mocktikv runs its conflict and NotExist checks again and skips the rewrite for lock_only_if_exists on a missing key. Re-locks use a fresh for_update_ts and neither NotExist nor lock_only_if_exists"},
	{name: "heartbeat-primary-only", cmds: []CmdType{CmdTxnHeartBeat}, ref: "§3.7", handled: notGenerated,
		reason: "mocktikv refuses a heartbeat on a key that is not the lock's primary, TiKV does not check; heartbeats go to the primary only"},
	{name: "lock-waiting", cmds: []CmdType{CmdPessimisticLock}, ref: "§3.5, §10", handled: notGenerated,
		reason: "mocktikv does not wait (5 ms sleep then KeyIsLocked); TiKV waits up to wait_timeout and wakes up. Only wait_timeout = -1 is sent; force-lock mode is not sent"},
	{name: "resolve-lock-variants", cmds: []CmdType{CmdResolveLock, CmdScanLock}, ref: "§3.13, §3.14", handled: notGenerated,
		reason: "mocktikv ignores ResolveLock txn_infos and keys, and ScanLock start/end/limit; only the whole-region forms are sent"},
	{name: "reverse-scan-empty-start", cmds: []CmdType{CmdScan, CmdRawScan}, ref: "§3.2, §3.21", handled: notGenerated,
		reason: "an empty start_key in a reverse scan means 'nothing' to TiKV and 'to the region end' to mocktikv; reverse scans always set start_key"},
	{name: "raw-cas-absent-key", cmds: []CmdType{CmdRawCompareAndSwap}, ref: "§3.21", handled: notGenerated,
		reason: "mocktikv's CAS on a missing key returns leveldb's not-found as an error and ignores previous_not_exist and delete; CAS is only sent on existing keys, with previous_value"},
	{name: "raw-ttl-cf-checksum", cmds: []CmdType{CmdRawPut, CmdRawChecksum}, ref: "§3.21, §10", handled: notGenerated,
		reason: "mocktikv has no TTL, no for_cas, no RawBatchScan/RawGetKeyTTL, and its RawChecksum reads a column family it never creates (always 0); none of these is sent, and only the default cf is used"},
	{name: "async-commit-1pc-assertions", cmds: []CmdType{CmdPrewrite, CmdCheckTxnStatus}, ref: "§3.4, §3.8, §5", handled: notGenerated,
		reason: "mocktikv has no async commit, 1PC, max_commit_ts, for_update_ts constraints, verify_is_primary, force_sync_commit, and its assertion checks differ; none is sent, and assertion_level is Off"},
	{name: "txn-and-raw-mixed", ref: "§10", handled: notGenerated,
		reason: "mocktikv keeps raw and transactional data in one leveldb, so a raw key breaks its MVCC scans; a sequence is either all-transactional or all-raw"},
	{name: "keys-outside-region", ref: "§10", handled: notGenerated,
		reason: "mocktikv panics on keys outside the region; both sides run a single region"},
}

// findAccepted returns the acceptedWhenSeen rule that explains a mismatch,
// or nil.
func findAccepted(c *command, mock, sim observed, m *model) *knownDifference {
	for i := range knownDifferences {
		d := &knownDifferences[i]
		if d.handled != acceptedWhenSeen || !slices.Contains(d.cmds, c.typ) {
			continue
		}
		if d.accept(c, mock, sim, m) {
			return d
		}
	}
	return nil
}

// differencesTable renders knownDifferences for the test log.
func differencesTable() string {
	var b strings.Builder
	for _, d := range knownDifferences {
		fmt.Fprintf(&b, "  %-36s %-20s %s\n", d.name, d.handled, d.ref)
	}
	return b.String()
}

// simDeviation is a place where the differential test found tikvsim
// answering differently from TiKV as the semantics doc describes it. The
// workload steers around each one (they fork the two stores' states) unless
// -peer.simbugs is set, which reproduces them. Remove an entry, and the
// steering it names, once tikvsim is fixed.
type simDeviation struct {
	name   string
	ref    string
	detail string
}

var simDeviations = []simDeviation{}

// acceptReadBelowMinCommitTS implements the read-below-min-commit-ts rule.
func acceptReadBelowMinCommitTS(c *command, mock, sim observed, m *model) bool {
	if c.ctx.IsolationLevel != kvrpcpb.IsolationLevel_SI {
		return false
	}
	// excused reports whether a KeyIsLocked may be one TiKV skips by the
	// min_commit_ts rule.
	excused := func(e *kvrpcpb.KeyError) bool {
		if e == nil || e.Locked == nil {
			return false
		}
		for _, t := range m.txns {
			if t.start == e.Locked.LockVersion && t.start <= c.readTS && c.readTS < t.minCommit {
				return true
			}
		}
		return false
	}
	// The upper bound is per txn, while TiKV keeps the pushed
	// min_commit_ts on the primary only: for an excused key tikvsim may
	// report the lock too, or read through it. Such keys are dropped from
	// both sides; everything else must match.
	dropExcused := func(mockPairs, simPairs []*kvrpcpb.KvPair, keyOnly bool) (m, s []string, dropped int) {
		skip := map[string]bool{}
		var kept []*kvrpcpb.KvPair
		for _, p := range mockPairs {
			if excused(p.Error) {
				skip[string(p.Error.Locked.Key)] = true
				continue
			}
			kept = append(kept, p)
		}
		var simKept []*kvrpcpb.KvPair
		for _, p := range simPairs {
			k := p.Key
			if p.Error != nil && p.Error.Locked != nil {
				k = p.Error.Locked.Key
			}
			if skip[string(k)] {
				continue
			}
			simKept = append(simKept, p)
		}
		return pairsView(kept, keyOnly, false), pairsView(simKept, keyOnly, false), len(skip)
	}
	switch mr := mock.resp.Resp.(type) {
	case *kvrpcpb.GetResponse:
		sr := sim.resp.Resp.(*kvrpcpb.GetResponse)
		return excused(mr.Error) && sr.Error == nil && sr.RegionError == nil
	case *kvrpcpb.BatchGetResponse:
		mv, sv, dropped := dropExcused(mr.Pairs, sim.resp.Resp.(*kvrpcpb.BatchGetResponse).Pairs, false)
		return dropped > 0 && slices.Equal(mv, sv)
	case *kvrpcpb.ScanResponse:
		// A lock tikvsim reads through frees a slot of the limit, so it may
		// return up to one more entry per dropped key.
		mv, sv, dropped := dropExcused(mr.Pairs, sim.resp.Resp.(*kvrpcpb.ScanResponse).Pairs, c.req.(*kvrpcpb.ScanRequest).KeyOnly)
		return dropped > 0 && len(sv) >= len(mv) && len(sv)-len(mv) <= dropped && slices.Equal(mv, sv[:len(mv)])
	}
	return false
}
