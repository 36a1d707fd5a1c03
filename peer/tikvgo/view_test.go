package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// view is the comparable projection of one response: the fields both
// backends are expected to agree on, rendered as strings. Every field the
// upstream mock is known not to fill (see knownDifferences) is left out
// here, so a plain equality check is the comparison.
type view struct {
	RegionErr string   // kind of region error, "" when none
	Errs      []string // key errors (or error strings), "kind{detail}"
	Items     []string // pairs, values, locks: in response order
	Fields    []string // scalar results, "name=value"
}

func (v view) equal(o view) bool { return reflect.DeepEqual(v.norm(), o.norm()) }

// norm maps nil and empty slices to the same value.
func (v view) norm() view {
	fix := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	return view{RegionErr: v.RegionErr, Errs: fix(v.Errs), Items: fix(v.Items), Fields: fix(v.Fields)}
}

func (v view) String() string {
	var b strings.Builder
	if v.RegionErr != "" {
		fmt.Fprintf(&b, "region_error=%s ", v.RegionErr)
	}
	if len(v.Errs) > 0 {
		fmt.Fprintf(&b, "errors=%q ", v.Errs)
	}
	if len(v.Items) > 0 {
		fmt.Fprintf(&b, "items=%q ", v.Items)
	}
	if len(v.Fields) > 0 {
		fmt.Fprintf(&b, "fields=%v", v.Fields)
	}
	if b.Len() == 0 {
		return "<empty success>"
	}
	return strings.TrimSpace(b.String())
}

// regionErrKind names the first region error variant set, or "message" when
// only the message is.
func regionErrKind(e *errorpb.Error) string {
	switch {
	case e == nil:
		return ""
	case e.NotLeader != nil:
		return "not_leader"
	case e.RegionNotFound != nil:
		return "region_not_found"
	case e.KeyNotInRegion != nil:
		return "key_not_in_region"
	case e.EpochNotMatch != nil:
		return "epoch_not_match"
	case e.ServerIsBusy != nil:
		return "server_is_busy"
	case e.StaleCommand != nil:
		return "stale_command"
	case e.StoreNotMatch != nil:
		return "store_not_match"
	case e.RaftEntryTooLarge != nil:
		return "raft_entry_too_large"
	case e.MaxTimestampNotSynced != nil:
		return "max_timestamp_not_synced"
	default:
		return "message:" + e.Message
	}
}

// keyErrOpts switches off fields that one command legitimately reports
// differently (see knownDifferences).
type keyErrOpts struct {
	ignoreConflictStartTS bool // PessimisticLock: mock reports for_update_ts
}

// keyErr renders a KeyError as "kind{detail}" with only the fields mocktikv
// v2.0.4 fills. Kinds are checked in a fixed order so a KeyError that sets
// both conflict and retryable (as TiKV does) is a "conflict".
func keyErr(k *kvrpcpb.KeyError, o keyErrOpts) string {
	switch {
	case k == nil:
		return ""
	case k.Locked != nil:
		l := k.Locked
		s := fmt.Sprintf("locked{key=%q primary=%q start=%d ttl=%d txn_size=%d type=%s", l.Key, l.PrimaryLock, l.LockVersion, l.LockTtl, l.TxnSize, l.LockType)
		if l.LockType == kvrpcpb.Op_PessimisticLock {
			s += fmt.Sprintf(" for_update=%d", l.LockForUpdateTs)
		}
		return s + "}"
	case k.Conflict != nil:
		c := k.Conflict
		start := fmt.Sprint(c.StartTs)
		if o.ignoreConflictStartTS {
			start = "*"
		}
		return fmt.Sprintf("conflict{start=%s conflict=%d conflict_commit=%d key=%q}", start, c.ConflictTs, c.ConflictCommitTs, c.Key)
	case k.AlreadyExist != nil:
		return fmt.Sprintf("already_exist{key=%q}", k.AlreadyExist.Key)
	case k.Deadlock != nil:
		return fmt.Sprintf("deadlock{lock_ts=%d lock_key=%q}", k.Deadlock.LockTs, k.Deadlock.LockKey)
	case k.CommitTsExpired != nil:
		e := k.CommitTsExpired
		return fmt.Sprintf("commit_ts_expired{start=%d attempted=%d key=%q min_commit=%d}", e.StartTs, e.AttemptedCommitTs, e.Key, e.MinCommitTs)
	case k.TxnNotFound != nil:
		return fmt.Sprintf("txn_not_found{start=%d primary=%q}", k.TxnNotFound.StartTs, k.TxnNotFound.PrimaryKey)
	case k.CommitTsTooLarge != nil:
		return fmt.Sprintf("commit_ts_too_large{%d}", k.CommitTsTooLarge.CommitTs)
	case k.AssertionFailed != nil:
		a := k.AssertionFailed
		return fmt.Sprintf("assertion_failed{start=%d key=%q assertion=%s existing_start=%d existing_commit=%d}", a.StartTs, a.Key, a.Assertion, a.ExistingStartTs, a.ExistingCommitTs)
	case k.PrimaryMismatch != nil:
		return "primary_mismatch{}"
	case k.TxnLockNotFound != nil:
		return fmt.Sprintf("txn_lock_not_found{key=%q}", k.TxnLockNotFound.Key)
	case k.Abort != "":
		return "abort{}" // texts are implementation debug strings; clients never parse them
	case k.Retryable != "":
		return "retryable{}"
	default:
		return "empty{}"
	}
}

func keyErrs(ks []*kvrpcpb.KeyError, o keyErrOpts) []string {
	var out []string
	for _, k := range ks {
		if s := keyErr(k, o); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func errString(s string) []string {
	if s == "" {
		return nil
	}
	return []string{"error{}"} // free text; only its presence is compared
}

// pairsView renders KvPairs. keyOnly drops values; dropEmpty drops pairs
// that carry neither a value nor an error (mocktikv's RawBatchGet reports
// missing keys that way, TiKV omits them).
func pairsView(ps []*kvrpcpb.KvPair, keyOnly, dropEmpty bool) []string {
	var out []string
	for _, p := range ps {
		if p.Error != nil {
			out = append(out, "err:"+keyErr(p.Error, keyErrOpts{}))
			continue
		}
		if dropEmpty && len(p.Value) == 0 {
			continue
		}
		if keyOnly {
			out = append(out, fmt.Sprintf("%q", p.Key))
		} else {
			out = append(out, fmt.Sprintf("%q=%q", p.Key, p.Value))
		}
	}
	return out
}

// viewOf projects resp for the command c. It returns an error for a
// response type it does not know, which is a harness bug.
func viewOf(c *command, resp *Response) (view, error) {
	switch r := resp.Resp.(type) {
	case *kvrpcpb.GetResponse:
		// mocktikv never sets not_found; with the non-empty values this
		// workload writes, "no value and no error" is exactly not-found.
		notFound := r.Error == nil && len(r.Value) == 0
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{})),
			Items: []string{fmt.Sprintf("%q", r.Value)}, Fields: []string{fmt.Sprintf("not_found=%v", notFound)}}, nil
	case *kvrpcpb.BatchGetResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{})), Items: pairsView(r.Pairs, false, false)}, nil
	case *kvrpcpb.ScanResponse:
		keyOnly := c.req.(*kvrpcpb.ScanRequest).KeyOnly
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{})), Items: pairsView(r.Pairs, keyOnly, false)}, nil
	case *kvrpcpb.PrewriteResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: keyErrs(r.Errors, keyErrOpts{})}, nil
	case *kvrpcpb.PessimisticLockResponse:
		v := view{RegionErr: regionErrKind(r.RegionError)}
		// mocktikv reports one error per failing key; TiKV stops at the
		// first. Only the first is compared.
		if errs := keyErrs(r.Errors, keyErrOpts{ignoreConflictStartTS: true}); len(errs) > 0 {
			v.Errs = errs[:1]
			return v, nil
		}
		for _, val := range r.Values {
			v.Items = append(v.Items, fmt.Sprintf("%q", val))
		}
		if len(r.NotFounds) > 0 {
			v.Fields = append(v.Fields, fmt.Sprintf("not_founds=%v", r.NotFounds))
		}
		return v, nil
	case *kvrpcpb.CommitResponse:
		// commit_version is not filled by mocktikv; not compared.
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{}))}, nil
	case *kvrpcpb.CleanupResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{})),
			Fields: []string{fmt.Sprintf("commit_version=%d", r.CommitVersion)}}, nil
	case *kvrpcpb.BatchRollbackResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{}))}, nil
	case *kvrpcpb.CheckTxnStatusResponse:
		// lock_info is not filled by mocktikv; not compared.
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{})),
			Fields: []string{fmt.Sprintf("lock_ttl=%d", r.LockTtl), fmt.Sprintf("commit_version=%d", r.CommitVersion), "action=" + r.Action.String()}}, nil
	case *kvrpcpb.ScanLockResponse:
		v := view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{}))}
		for _, l := range r.Locks {
			// mocktikv fills only key, primary and start ts.
			v.Items = append(v.Items, fmt.Sprintf("%q primary=%q start=%d", l.Key, l.PrimaryLock, l.LockVersion))
		}
		return v, nil
	case *kvrpcpb.TxnHeartBeatResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{})),
			Fields: []string{fmt.Sprintf("lock_ttl=%d", r.LockTtl)}}, nil
	case *kvrpcpb.PessimisticRollbackResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: keyErrs(r.Errors, keyErrOpts{})}, nil
	case *kvrpcpb.ResolveLockResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: one(keyErr(r.Error, keyErrOpts{}))}, nil
	case *kvrpcpb.DeleteRangeResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error)}, nil
	case *kvrpcpb.RawGetResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error),
			Items: []string{fmt.Sprintf("%q", r.Value)}, Fields: []string{fmt.Sprintf("not_found=%v", r.NotFound)}}, nil
	case *kvrpcpb.RawBatchGetResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Items: pairsView(r.Pairs, false, true)}, nil
	case *kvrpcpb.RawPutResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error)}, nil
	case *kvrpcpb.RawBatchPutResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error)}, nil
	case *kvrpcpb.RawDeleteResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error)}, nil
	case *kvrpcpb.RawBatchDeleteResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error)}, nil
	case *kvrpcpb.RawDeleteRangeResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error)}, nil
	case *kvrpcpb.RawScanResponse:
		keyOnly := c.req.(*kvrpcpb.RawScanRequest).KeyOnly
		return view{RegionErr: regionErrKind(r.RegionError), Items: pairsView(r.Kvs, keyOnly, false)}, nil
	case *kvrpcpb.RawCASResponse:
		return view{RegionErr: regionErrKind(r.RegionError), Errs: errString(r.Error),
			Fields: []string{fmt.Sprintf("succeed=%v", r.Succeed), fmt.Sprintf("previous_not_exist=%v", r.PreviousNotExist), fmt.Sprintf("previous_value=%q", r.PreviousValue)}}, nil
	default:
		return view{}, fmt.Errorf("peer: no view for %T", resp.Resp)
	}
}
