package main

// This file is the hand-kept part of the command table: what the kvproto
// descriptors cannot say. Everything else in ../../commands.go (request and
// response types, gRPC method, Context field, BatchCommands oneof arm) is
// read from the descriptors at generate time.
//
// A method of the tikvpb.Tikv service is exposed as a command only if it has
// an entry here; a kvproto upgrade that adds a method therefore changes
// nothing until someone adds it with an idempotency decision.

// policy is what the generator needs to know about one command beyond its
// descriptor.
type policy struct {
	// name is the Go name behind Cmd<name> and New<name>; empty means the
	// method name without its "Kv"/"KV" prefix.
	name string
	// read marks a command that changes no data; reads are idempotent.
	read bool
	// idempotent says whether TiKV may execute the request twice with the
	// effect of once, so a request whose outcome is unknown may be resent.
	idempotent bool
	// idempotentIf, when set, names a generic func(Q) bool in package kvrpc
	// that decides per request instead; idempotent is then ignored.
	idempotentIf string
	// why is the one-line reason for a write's decision; it becomes part of
	// the constructor's doc comment. With idempotentIf it states the
	// condition ("unless ...").
	why string
	// fast names the hand-written decoder of the response arm (decode.go).
	fast string
}

const forCASWhy = "unless it is sent for_cas (atomic mode), where a CompareAndSwap may run between two applies and the repeat would undo it"

// policies maps gRPC method names of tikvpb.Tikv to their policy.
var policies = map[string]policy{
	// Reads.
	"KvGet":             {read: true, fast: "decodeKvGet"},
	"KvScan":            {read: true, fast: "decodeKvScan"},
	"KvBatchGet":        {read: true, fast: "decodeKvBatchGet"},
	"KvScanLock":        {read: true},
	"KvBufferBatchGet":  {read: true},
	"RawGet":            {read: true, fast: "decodeRawGet"},
	"RawBatchGet":       {read: true, fast: "decodeRawBatchGet"},
	"RawScan":           {read: true, fast: "decodeRawScan"},
	"RawBatchScan":      {read: true},
	"RawGetKeyTTL":      {read: true},
	"RawChecksum":       {read: true},
	"MvccGetByKey":      {read: true},
	"MvccGetByStartTs":  {read: true},
	"GetLockWaitInfo":   {read: true, name: "LockWaitInfo"},
	"GetStoreSafeTS":    {read: true, name: "StoreSafeTS"},
	"CheckLeader":       {read: true},
	"GetHealthFeedback": {read: true},

	// Transactional writes. TiKV keys every one of them by the
	// transaction's start ts, which makes a repeat land on state the first
	// attempt already produced.
	"KvPrewrite": {idempotent: true, fast: "decodeKvPrewrite",
		why: "TiKV leaves its own lock of the same start ts in place and answers success when the txn already committed the key"},
	"KvCommit": {idempotent: true, fast: "decodeKvCommit",
		why: "TiKV answers success when the key is already committed with this start ts"},
	"KvPessimisticLock": {idempotent: true, fast: "decodeKvPessimisticLock",
		why: "TiKV treats a pessimistic lock the txn already holds as acquired"},
	"KVPessimisticRollback": {idempotent: true,
		why: "removing a pessimistic lock that is already gone does nothing"},
	"KvTxnHeartBeat": {idempotent: true,
		why: "the lock TTL only grows to the advised value"},
	"KvCheckTxnStatus": {idempotent: true,
		why: "a repeat finds the rollback or pushed min_commit_ts the first attempt left and reports it"},
	"KvCheckSecondaryLocks": {idempotent: true,
		why: "a repeat finds the rollback records the first attempt left and reports them"},
	"KvCleanup": {idempotent: true,
		why: "a repeat finds the rollback record (or the commit) the first attempt left"},
	"KvBatchRollback": {idempotent: true,
		why: "rolling back keys that already carry this txn's rollback record does nothing"},
	"KvResolveLock": {idempotent: true,
		why: "a repeat finds no lock of the txn left to commit or roll back"},
	"KvFlush": {idempotent: true,
		why: "TiKV ignores a flush whose generation is not newer than the lock it finds"},
	"BroadcastTxnStatus": {idempotent: true,
		why: "it only tells stores a txn status they may already know"},

	// Raw writes.
	// A plain raw write applied twice leaves what applying it once does. In
	// atomic mode (for_cas) a CompareAndSwap may run between the two
	// applies and the repeat would silently undo it.
	"RawPut": {idempotentIf: "notForCAS", fast: "decodeRawPut",
		why: forCASWhy},
	"RawBatchPut": {idempotentIf: "notForCAS", fast: "decodeRawBatchPut",
		why: forCASWhy},
	"RawDelete": {idempotentIf: "notForCAS", fast: "decodeRawDelete",
		why: forCASWhy},
	"RawBatchDelete": {idempotentIf: "notForCAS", fast: "decodeRawBatchDelete",
		why: forCASWhy},
	"RawDeleteRange": {idempotent: true,
		why: "deleting a range twice leaves it as deleting it once (atomic mode never sends it)"},
	"RawCompareAndSwap": {idempotent: false,
		why: "a repeat compares against the value the first attempt wrote, so its answer would be wrong"},
	"RawCoprocessor": {idempotent: false,
		why: "it runs arbitrary plugin code on the store, which may write"},

	// Administrative writes.
	"KvGC": {idempotent: true,
		why: "collecting garbage up to the same safe point twice does nothing more"},
	"KvDeleteRange": {idempotent: true,
		why: "deleting a range twice leaves it as deleting it once"},
	"UnsafeDestroyRange": {idempotent: true,
		why: "destroying a range twice leaves it as destroying it once"},
	"KvPrepareFlashbackToVersion": {idempotent: true,
		why: "TiKV resumes a flashback of the same start and commit ts where it stopped"},
	"KvFlashbackToVersion": {idempotent: true,
		why: "TiKV resumes a flashback of the same start and commit ts where it stopped"},
	"SplitRegion": {idempotent: false,
		why: "after a split that applied, a repeat fails on the new boundary; the caller must look at the regions instead"},
}
