package kvrpc

// This file is the command table: one spec per TiKV command, mapping the
// kvrpcpb messages to their unary gRPC method and, where TiKV accepts them in
// a BatchCommands stream, to the oneof arms of the batch messages.

import (
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
)

// Command types. The value is the unary gRPC method name.
const (
	// CmdGet is the KvGet command.
	CmdGet CmdType = "KvGet"
	// CmdScan is the KvScan command.
	CmdScan CmdType = "KvScan"
	// CmdPrewrite is the KvPrewrite command.
	CmdPrewrite CmdType = "KvPrewrite"
	// CmdCommit is the KvCommit command.
	CmdCommit CmdType = "KvCommit"
	// CmdCleanup is the KvCleanup command.
	CmdCleanup CmdType = "KvCleanup"
	// CmdBatchGet is the KvBatchGet command.
	CmdBatchGet CmdType = "KvBatchGet"
	// CmdBatchRollback is the KvBatchRollback command.
	CmdBatchRollback CmdType = "KvBatchRollback"
	// CmdScanLock is the KvScanLock command.
	CmdScanLock CmdType = "KvScanLock"
	// CmdResolveLock is the KvResolveLock command.
	CmdResolveLock CmdType = "KvResolveLock"
	// CmdGC is the KvGC command.
	CmdGC CmdType = "KvGC"
	// CmdDeleteRange is the KvDeleteRange command.
	CmdDeleteRange CmdType = "KvDeleteRange"
	// CmdPessimisticLock is the KvPessimisticLock command.
	CmdPessimisticLock CmdType = "KvPessimisticLock"
	// CmdPessimisticRollback is the KVPessimisticRollback command.
	CmdPessimisticRollback CmdType = "KVPessimisticRollback"
	// CmdTxnHeartBeat is the KvTxnHeartBeat command.
	CmdTxnHeartBeat CmdType = "KvTxnHeartBeat"
	// CmdCheckTxnStatus is the KvCheckTxnStatus command.
	CmdCheckTxnStatus CmdType = "KvCheckTxnStatus"
	// CmdCheckSecondaryLocks is the KvCheckSecondaryLocks command.
	CmdCheckSecondaryLocks CmdType = "KvCheckSecondaryLocks"
	// CmdFlashbackToVersion is the KvFlashbackToVersion command.
	CmdFlashbackToVersion CmdType = "KvFlashbackToVersion"
	// CmdPrepareFlashbackToVersion is the KvPrepareFlashbackToVersion command.
	CmdPrepareFlashbackToVersion CmdType = "KvPrepareFlashbackToVersion"
	// CmdFlush is the KvFlush command.
	CmdFlush CmdType = "KvFlush"
	// CmdBufferBatchGet is the KvBufferBatchGet command.
	CmdBufferBatchGet CmdType = "KvBufferBatchGet"
	// CmdRawGet is the RawGet command.
	CmdRawGet CmdType = "RawGet"
	// CmdRawBatchGet is the RawBatchGet command.
	CmdRawBatchGet CmdType = "RawBatchGet"
	// CmdRawPut is the RawPut command.
	CmdRawPut CmdType = "RawPut"
	// CmdRawBatchPut is the RawBatchPut command.
	CmdRawBatchPut CmdType = "RawBatchPut"
	// CmdRawDelete is the RawDelete command.
	CmdRawDelete CmdType = "RawDelete"
	// CmdRawBatchDelete is the RawBatchDelete command.
	CmdRawBatchDelete CmdType = "RawBatchDelete"
	// CmdRawScan is the RawScan command.
	CmdRawScan CmdType = "RawScan"
	// CmdRawDeleteRange is the RawDeleteRange command.
	CmdRawDeleteRange CmdType = "RawDeleteRange"
	// CmdRawBatchScan is the RawBatchScan command.
	CmdRawBatchScan CmdType = "RawBatchScan"
	// CmdRawCoprocessor is the RawCoprocessor command.
	CmdRawCoprocessor CmdType = "RawCoprocessor"
	// CmdGetHealthFeedback is the GetHealthFeedback command.
	CmdGetHealthFeedback CmdType = "GetHealthFeedback"
	// CmdBroadcastTxnStatus is the BroadcastTxnStatus command.
	CmdBroadcastTxnStatus CmdType = "BroadcastTxnStatus"
	// CmdRawGetKeyTTL is the RawGetKeyTTL command.
	CmdRawGetKeyTTL CmdType = "RawGetKeyTTL"
	// CmdRawCompareAndSwap is the RawCompareAndSwap command.
	CmdRawCompareAndSwap CmdType = "RawCompareAndSwap"
	// CmdRawChecksum is the RawChecksum command.
	CmdRawChecksum CmdType = "RawChecksum"
	// CmdUnsafeDestroyRange is the UnsafeDestroyRange command.
	CmdUnsafeDestroyRange CmdType = "UnsafeDestroyRange"
	// CmdSplitRegion is the SplitRegion command.
	CmdSplitRegion CmdType = "SplitRegion"
	// CmdMvccGetByKey is the MvccGetByKey command.
	CmdMvccGetByKey CmdType = "MvccGetByKey"
	// CmdMvccGetByStartTs is the MvccGetByStartTs command.
	CmdMvccGetByStartTs CmdType = "MvccGetByStartTs"
	// CmdLockWaitInfo is the GetLockWaitInfo command.
	CmdLockWaitInfo CmdType = "GetLockWaitInfo"
	// CmdStoreSafeTS is the GetStoreSafeTS command.
	CmdStoreSafeTS CmdType = "GetStoreSafeTS"
	// CmdCheckLeader is the CheckLeader command.
	CmdCheckLeader CmdType = "CheckLeader"
)

var getSpec = &spec[*kvrpcpb.GetRequest, *kvrpcpb.GetResponse]{
	typ:    CmdGet,
	getCtx: (*kvrpcpb.GetRequest).GetContext,
	setCtx: func(q *kvrpcpb.GetRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvGet,
	wrap: func(q *kvrpcpb.GetRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Get{Get: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetGet,
}

// NewGet wraps a GetRequest in a [Request]; the response message is a
// *kvrpcpb.GetResponse. It travels in the BatchCommands stream when batching is on.
func NewGet(q *kvrpcpb.GetRequest) *Request { return newRequest(getSpec, q) }

var scanSpec = &spec[*kvrpcpb.ScanRequest, *kvrpcpb.ScanResponse]{
	typ:    CmdScan,
	getCtx: (*kvrpcpb.ScanRequest).GetContext,
	setCtx: func(q *kvrpcpb.ScanRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvScan,
	wrap: func(q *kvrpcpb.ScanRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Scan{Scan: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetScan,
}

// NewScan wraps a ScanRequest in a [Request]; the response message is a
// *kvrpcpb.ScanResponse. It travels in the BatchCommands stream when batching is on.
func NewScan(q *kvrpcpb.ScanRequest) *Request { return newRequest(scanSpec, q) }

var prewriteSpec = &spec[*kvrpcpb.PrewriteRequest, *kvrpcpb.PrewriteResponse]{
	typ:    CmdPrewrite,
	getCtx: (*kvrpcpb.PrewriteRequest).GetContext,
	setCtx: func(q *kvrpcpb.PrewriteRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvPrewrite,
	wrap: func(q *kvrpcpb.PrewriteRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Prewrite{Prewrite: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetPrewrite,
}

// NewPrewrite wraps a PrewriteRequest in a [Request]; the response message is a
// *kvrpcpb.PrewriteResponse. It travels in the BatchCommands stream when batching is on.
func NewPrewrite(q *kvrpcpb.PrewriteRequest) *Request { return newRequest(prewriteSpec, q) }

var commitSpec = &spec[*kvrpcpb.CommitRequest, *kvrpcpb.CommitResponse]{
	typ:    CmdCommit,
	getCtx: (*kvrpcpb.CommitRequest).GetContext,
	setCtx: func(q *kvrpcpb.CommitRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvCommit,
	wrap: func(q *kvrpcpb.CommitRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Commit{Commit: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetCommit,
}

// NewCommit wraps a CommitRequest in a [Request]; the response message is a
// *kvrpcpb.CommitResponse. It travels in the BatchCommands stream when batching is on.
func NewCommit(q *kvrpcpb.CommitRequest) *Request { return newRequest(commitSpec, q) }

var cleanupSpec = &spec[*kvrpcpb.CleanupRequest, *kvrpcpb.CleanupResponse]{
	typ:    CmdCleanup,
	getCtx: (*kvrpcpb.CleanupRequest).GetContext,
	setCtx: func(q *kvrpcpb.CleanupRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvCleanup,
	wrap: func(q *kvrpcpb.CleanupRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Cleanup{Cleanup: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetCleanup,
}

// NewCleanup wraps a CleanupRequest in a [Request]; the response message is a
// *kvrpcpb.CleanupResponse. It travels in the BatchCommands stream when batching is on.
func NewCleanup(q *kvrpcpb.CleanupRequest) *Request { return newRequest(cleanupSpec, q) }

var batchGetSpec = &spec[*kvrpcpb.BatchGetRequest, *kvrpcpb.BatchGetResponse]{
	typ:    CmdBatchGet,
	getCtx: (*kvrpcpb.BatchGetRequest).GetContext,
	setCtx: func(q *kvrpcpb.BatchGetRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvBatchGet,
	wrap: func(q *kvrpcpb.BatchGetRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_BatchGet{BatchGet: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetBatchGet,
}

// NewBatchGet wraps a BatchGetRequest in a [Request]; the response message is a
// *kvrpcpb.BatchGetResponse. It travels in the BatchCommands stream when batching is on.
func NewBatchGet(q *kvrpcpb.BatchGetRequest) *Request { return newRequest(batchGetSpec, q) }

var batchRollbackSpec = &spec[*kvrpcpb.BatchRollbackRequest, *kvrpcpb.BatchRollbackResponse]{
	typ:    CmdBatchRollback,
	getCtx: (*kvrpcpb.BatchRollbackRequest).GetContext,
	setCtx: func(q *kvrpcpb.BatchRollbackRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvBatchRollback,
	wrap: func(q *kvrpcpb.BatchRollbackRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_BatchRollback{BatchRollback: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetBatchRollback,
}

// NewBatchRollback wraps a BatchRollbackRequest in a [Request]; the response message is a
// *kvrpcpb.BatchRollbackResponse. It travels in the BatchCommands stream when batching is on.
func NewBatchRollback(q *kvrpcpb.BatchRollbackRequest) *Request {
	return newRequest(batchRollbackSpec, q)
}

var scanLockSpec = &spec[*kvrpcpb.ScanLockRequest, *kvrpcpb.ScanLockResponse]{
	typ:    CmdScanLock,
	getCtx: (*kvrpcpb.ScanLockRequest).GetContext,
	setCtx: func(q *kvrpcpb.ScanLockRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvScanLock,
	wrap: func(q *kvrpcpb.ScanLockRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_ScanLock{ScanLock: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetScanLock,
}

// NewScanLock wraps a ScanLockRequest in a [Request]; the response message is a
// *kvrpcpb.ScanLockResponse. It travels in the BatchCommands stream when batching is on.
func NewScanLock(q *kvrpcpb.ScanLockRequest) *Request { return newRequest(scanLockSpec, q) }

var resolveLockSpec = &spec[*kvrpcpb.ResolveLockRequest, *kvrpcpb.ResolveLockResponse]{
	typ:    CmdResolveLock,
	getCtx: (*kvrpcpb.ResolveLockRequest).GetContext,
	setCtx: func(q *kvrpcpb.ResolveLockRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvResolveLock,
	wrap: func(q *kvrpcpb.ResolveLockRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_ResolveLock{ResolveLock: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetResolveLock,
}

// NewResolveLock wraps a ResolveLockRequest in a [Request]; the response message is a
// *kvrpcpb.ResolveLockResponse. It travels in the BatchCommands stream when batching is on.
func NewResolveLock(q *kvrpcpb.ResolveLockRequest) *Request { return newRequest(resolveLockSpec, q) }

var gCSpec = &spec[*kvrpcpb.GCRequest, *kvrpcpb.GCResponse]{
	typ:    CmdGC,
	getCtx: (*kvrpcpb.GCRequest).GetContext,
	setCtx: func(q *kvrpcpb.GCRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvGC,
	wrap: func(q *kvrpcpb.GCRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_GC{GC: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetGC,
}

// NewGC wraps a GCRequest in a [Request]; the response message is a
// *kvrpcpb.GCResponse. It travels in the BatchCommands stream when batching is on.
func NewGC(q *kvrpcpb.GCRequest) *Request { return newRequest(gCSpec, q) }

var deleteRangeSpec = &spec[*kvrpcpb.DeleteRangeRequest, *kvrpcpb.DeleteRangeResponse]{
	typ:    CmdDeleteRange,
	getCtx: (*kvrpcpb.DeleteRangeRequest).GetContext,
	setCtx: func(q *kvrpcpb.DeleteRangeRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvDeleteRange,
	wrap: func(q *kvrpcpb.DeleteRangeRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_DeleteRange{DeleteRange: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetDeleteRange,
}

// NewDeleteRange wraps a DeleteRangeRequest in a [Request]; the response message is a
// *kvrpcpb.DeleteRangeResponse. It travels in the BatchCommands stream when batching is on.
func NewDeleteRange(q *kvrpcpb.DeleteRangeRequest) *Request { return newRequest(deleteRangeSpec, q) }

var pessimisticLockSpec = &spec[*kvrpcpb.PessimisticLockRequest, *kvrpcpb.PessimisticLockResponse]{
	typ:    CmdPessimisticLock,
	getCtx: (*kvrpcpb.PessimisticLockRequest).GetContext,
	setCtx: func(q *kvrpcpb.PessimisticLockRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvPessimisticLock,
	wrap: func(q *kvrpcpb.PessimisticLockRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_PessimisticLock{PessimisticLock: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetPessimisticLock,
}

// NewPessimisticLock wraps a PessimisticLockRequest in a [Request]; the response message is a
// *kvrpcpb.PessimisticLockResponse. It travels in the BatchCommands stream when batching is on.
func NewPessimisticLock(q *kvrpcpb.PessimisticLockRequest) *Request {
	return newRequest(pessimisticLockSpec, q)
}

var pessimisticRollbackSpec = &spec[*kvrpcpb.PessimisticRollbackRequest, *kvrpcpb.PessimisticRollbackResponse]{
	typ:    CmdPessimisticRollback,
	getCtx: (*kvrpcpb.PessimisticRollbackRequest).GetContext,
	setCtx: func(q *kvrpcpb.PessimisticRollbackRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KVPessimisticRollback,
	wrap: func(q *kvrpcpb.PessimisticRollbackRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_PessimisticRollback{PessimisticRollback: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetPessimisticRollback,
}

// NewPessimisticRollback wraps a PessimisticRollbackRequest in a [Request]; the response message is a
// *kvrpcpb.PessimisticRollbackResponse. It travels in the BatchCommands stream when batching is on.
func NewPessimisticRollback(q *kvrpcpb.PessimisticRollbackRequest) *Request {
	return newRequest(pessimisticRollbackSpec, q)
}

var txnHeartBeatSpec = &spec[*kvrpcpb.TxnHeartBeatRequest, *kvrpcpb.TxnHeartBeatResponse]{
	typ:    CmdTxnHeartBeat,
	getCtx: (*kvrpcpb.TxnHeartBeatRequest).GetContext,
	setCtx: func(q *kvrpcpb.TxnHeartBeatRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvTxnHeartBeat,
	wrap: func(q *kvrpcpb.TxnHeartBeatRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_TxnHeartBeat{TxnHeartBeat: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetTxnHeartBeat,
}

// NewTxnHeartBeat wraps a TxnHeartBeatRequest in a [Request]; the response message is a
// *kvrpcpb.TxnHeartBeatResponse. It travels in the BatchCommands stream when batching is on.
func NewTxnHeartBeat(q *kvrpcpb.TxnHeartBeatRequest) *Request { return newRequest(txnHeartBeatSpec, q) }

var checkTxnStatusSpec = &spec[*kvrpcpb.CheckTxnStatusRequest, *kvrpcpb.CheckTxnStatusResponse]{
	typ:    CmdCheckTxnStatus,
	getCtx: (*kvrpcpb.CheckTxnStatusRequest).GetContext,
	setCtx: func(q *kvrpcpb.CheckTxnStatusRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvCheckTxnStatus,
	wrap: func(q *kvrpcpb.CheckTxnStatusRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_CheckTxnStatus{CheckTxnStatus: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetCheckTxnStatus,
}

// NewCheckTxnStatus wraps a CheckTxnStatusRequest in a [Request]; the response message is a
// *kvrpcpb.CheckTxnStatusResponse. It travels in the BatchCommands stream when batching is on.
func NewCheckTxnStatus(q *kvrpcpb.CheckTxnStatusRequest) *Request {
	return newRequest(checkTxnStatusSpec, q)
}

var checkSecondaryLocksSpec = &spec[*kvrpcpb.CheckSecondaryLocksRequest, *kvrpcpb.CheckSecondaryLocksResponse]{
	typ:    CmdCheckSecondaryLocks,
	getCtx: (*kvrpcpb.CheckSecondaryLocksRequest).GetContext,
	setCtx: func(q *kvrpcpb.CheckSecondaryLocksRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvCheckSecondaryLocks,
	wrap: func(q *kvrpcpb.CheckSecondaryLocksRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_CheckSecondaryLocks{CheckSecondaryLocks: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetCheckSecondaryLocks,
}

// NewCheckSecondaryLocks wraps a CheckSecondaryLocksRequest in a [Request]; the response message is a
// *kvrpcpb.CheckSecondaryLocksResponse. It travels in the BatchCommands stream when batching is on.
func NewCheckSecondaryLocks(q *kvrpcpb.CheckSecondaryLocksRequest) *Request {
	return newRequest(checkSecondaryLocksSpec, q)
}

var flashbackToVersionSpec = &spec[*kvrpcpb.FlashbackToVersionRequest, *kvrpcpb.FlashbackToVersionResponse]{
	typ:    CmdFlashbackToVersion,
	getCtx: (*kvrpcpb.FlashbackToVersionRequest).GetContext,
	setCtx: func(q *kvrpcpb.FlashbackToVersionRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvFlashbackToVersion,
	wrap: func(q *kvrpcpb.FlashbackToVersionRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_FlashbackToVersion{FlashbackToVersion: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetFlashbackToVersion,
}

// NewFlashbackToVersion wraps a FlashbackToVersionRequest in a [Request]; the response message is a
// *kvrpcpb.FlashbackToVersionResponse. It travels in the BatchCommands stream when batching is on.
func NewFlashbackToVersion(q *kvrpcpb.FlashbackToVersionRequest) *Request {
	return newRequest(flashbackToVersionSpec, q)
}

var prepareFlashbackToVersionSpec = &spec[*kvrpcpb.PrepareFlashbackToVersionRequest, *kvrpcpb.PrepareFlashbackToVersionResponse]{
	typ:    CmdPrepareFlashbackToVersion,
	getCtx: (*kvrpcpb.PrepareFlashbackToVersionRequest).GetContext,
	setCtx: func(q *kvrpcpb.PrepareFlashbackToVersionRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvPrepareFlashbackToVersion,
	wrap: func(q *kvrpcpb.PrepareFlashbackToVersionRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_PrepareFlashbackToVersion{PrepareFlashbackToVersion: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetPrepareFlashbackToVersion,
}

// NewPrepareFlashbackToVersion wraps a PrepareFlashbackToVersionRequest in a [Request]; the response message is a
// *kvrpcpb.PrepareFlashbackToVersionResponse. It travels in the BatchCommands stream when batching is on.
func NewPrepareFlashbackToVersion(q *kvrpcpb.PrepareFlashbackToVersionRequest) *Request {
	return newRequest(prepareFlashbackToVersionSpec, q)
}

var flushSpec = &spec[*kvrpcpb.FlushRequest, *kvrpcpb.FlushResponse]{
	typ:    CmdFlush,
	getCtx: (*kvrpcpb.FlushRequest).GetContext,
	setCtx: func(q *kvrpcpb.FlushRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvFlush,
	wrap: func(q *kvrpcpb.FlushRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Flush{Flush: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetFlush,
}

// NewFlush wraps a FlushRequest in a [Request]; the response message is a
// *kvrpcpb.FlushResponse. It travels in the BatchCommands stream when batching is on.
func NewFlush(q *kvrpcpb.FlushRequest) *Request { return newRequest(flushSpec, q) }

var bufferBatchGetSpec = &spec[*kvrpcpb.BufferBatchGetRequest, *kvrpcpb.BufferBatchGetResponse]{
	typ:    CmdBufferBatchGet,
	getCtx: (*kvrpcpb.BufferBatchGetRequest).GetContext,
	setCtx: func(q *kvrpcpb.BufferBatchGetRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.KvBufferBatchGet,
	wrap: func(q *kvrpcpb.BufferBatchGetRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_BufferBatchGet{BufferBatchGet: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetBufferBatchGet,
}

// NewBufferBatchGet wraps a BufferBatchGetRequest in a [Request]; the response message is a
// *kvrpcpb.BufferBatchGetResponse. It travels in the BatchCommands stream when batching is on.
func NewBufferBatchGet(q *kvrpcpb.BufferBatchGetRequest) *Request {
	return newRequest(bufferBatchGetSpec, q)
}

var rawGetSpec = &spec[*kvrpcpb.RawGetRequest, *kvrpcpb.RawGetResponse]{
	typ:    CmdRawGet,
	getCtx: (*kvrpcpb.RawGetRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawGetRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawGet,
	wrap: func(q *kvrpcpb.RawGetRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawGet{RawGet: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawGet,
	arm:    armRawGet,
	fast:   decodeRawGet,
}

// NewRawGet wraps a RawGetRequest in a [Request]; the response message is a
// *kvrpcpb.RawGetResponse. It travels in the BatchCommands stream when batching is on.
func NewRawGet(q *kvrpcpb.RawGetRequest) *Request { return newRequest(rawGetSpec, q) }

var rawBatchGetSpec = &spec[*kvrpcpb.RawBatchGetRequest, *kvrpcpb.RawBatchGetResponse]{
	typ:    CmdRawBatchGet,
	getCtx: (*kvrpcpb.RawBatchGetRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawBatchGetRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawBatchGet,
	wrap: func(q *kvrpcpb.RawBatchGetRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawBatchGet{RawBatchGet: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawBatchGet,
	arm:    armRawBatchGet,
	fast:   decodeRawBatchGet,
}

// NewRawBatchGet wraps a RawBatchGetRequest in a [Request]; the response message is a
// *kvrpcpb.RawBatchGetResponse. It travels in the BatchCommands stream when batching is on.
func NewRawBatchGet(q *kvrpcpb.RawBatchGetRequest) *Request { return newRequest(rawBatchGetSpec, q) }

var rawPutSpec = &spec[*kvrpcpb.RawPutRequest, *kvrpcpb.RawPutResponse]{
	typ:    CmdRawPut,
	getCtx: (*kvrpcpb.RawPutRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawPutRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawPut,
	wrap: func(q *kvrpcpb.RawPutRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawPut{RawPut: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawPut,
	arm:    armRawPut,
	fast:   decodeRawPut,
}

// NewRawPut wraps a RawPutRequest in a [Request]; the response message is a
// *kvrpcpb.RawPutResponse. It travels in the BatchCommands stream when batching is on.
func NewRawPut(q *kvrpcpb.RawPutRequest) *Request { return newRequest(rawPutSpec, q) }

var rawBatchPutSpec = &spec[*kvrpcpb.RawBatchPutRequest, *kvrpcpb.RawBatchPutResponse]{
	typ:    CmdRawBatchPut,
	getCtx: (*kvrpcpb.RawBatchPutRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawBatchPutRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawBatchPut,
	wrap: func(q *kvrpcpb.RawBatchPutRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawBatchPut{RawBatchPut: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawBatchPut,
	arm:    armRawBatchPut,
	fast:   decodeRawBatchPut,
}

// NewRawBatchPut wraps a RawBatchPutRequest in a [Request]; the response message is a
// *kvrpcpb.RawBatchPutResponse. It travels in the BatchCommands stream when batching is on.
func NewRawBatchPut(q *kvrpcpb.RawBatchPutRequest) *Request { return newRequest(rawBatchPutSpec, q) }

var rawDeleteSpec = &spec[*kvrpcpb.RawDeleteRequest, *kvrpcpb.RawDeleteResponse]{
	typ:    CmdRawDelete,
	getCtx: (*kvrpcpb.RawDeleteRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawDeleteRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawDelete,
	wrap: func(q *kvrpcpb.RawDeleteRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawDelete{RawDelete: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawDelete,
	arm:    armRawDelete,
	fast:   decodeRawDelete,
}

// NewRawDelete wraps a RawDeleteRequest in a [Request]; the response message is a
// *kvrpcpb.RawDeleteResponse. It travels in the BatchCommands stream when batching is on.
func NewRawDelete(q *kvrpcpb.RawDeleteRequest) *Request { return newRequest(rawDeleteSpec, q) }

var rawBatchDeleteSpec = &spec[*kvrpcpb.RawBatchDeleteRequest, *kvrpcpb.RawBatchDeleteResponse]{
	typ:    CmdRawBatchDelete,
	getCtx: (*kvrpcpb.RawBatchDeleteRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawBatchDeleteRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawBatchDelete,
	wrap: func(q *kvrpcpb.RawBatchDeleteRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawBatchDelete{RawBatchDelete: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawBatchDelete,
	arm:    armRawBatchDelete,
	fast:   decodeRawBatchDelete,
}

// NewRawBatchDelete wraps a RawBatchDeleteRequest in a [Request]; the response message is a
// *kvrpcpb.RawBatchDeleteResponse. It travels in the BatchCommands stream when batching is on.
func NewRawBatchDelete(q *kvrpcpb.RawBatchDeleteRequest) *Request {
	return newRequest(rawBatchDeleteSpec, q)
}

var rawScanSpec = &spec[*kvrpcpb.RawScanRequest, *kvrpcpb.RawScanResponse]{
	typ:    CmdRawScan,
	getCtx: (*kvrpcpb.RawScanRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawScanRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawScan,
	wrap: func(q *kvrpcpb.RawScanRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawScan{RawScan: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawScan,
	arm:    armRawScan,
	fast:   decodeRawScan,
}

// NewRawScan wraps a RawScanRequest in a [Request]; the response message is a
// *kvrpcpb.RawScanResponse. It travels in the BatchCommands stream when batching is on.
func NewRawScan(q *kvrpcpb.RawScanRequest) *Request { return newRequest(rawScanSpec, q) }

var rawDeleteRangeSpec = &spec[*kvrpcpb.RawDeleteRangeRequest, *kvrpcpb.RawDeleteRangeResponse]{
	typ:    CmdRawDeleteRange,
	getCtx: (*kvrpcpb.RawDeleteRangeRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawDeleteRangeRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawDeleteRange,
	wrap: func(q *kvrpcpb.RawDeleteRangeRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawDeleteRange{RawDeleteRange: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawDeleteRange,
}

// NewRawDeleteRange wraps a RawDeleteRangeRequest in a [Request]; the response message is a
// *kvrpcpb.RawDeleteRangeResponse. It travels in the BatchCommands stream when batching is on.
func NewRawDeleteRange(q *kvrpcpb.RawDeleteRangeRequest) *Request {
	return newRequest(rawDeleteRangeSpec, q)
}

var rawBatchScanSpec = &spec[*kvrpcpb.RawBatchScanRequest, *kvrpcpb.RawBatchScanResponse]{
	typ:    CmdRawBatchScan,
	getCtx: (*kvrpcpb.RawBatchScanRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawBatchScanRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawBatchScan,
	wrap: func(q *kvrpcpb.RawBatchScanRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawBatchScan{RawBatchScan: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawBatchScan,
}

// NewRawBatchScan wraps a RawBatchScanRequest in a [Request]; the response message is a
// *kvrpcpb.RawBatchScanResponse. It travels in the BatchCommands stream when batching is on.
func NewRawBatchScan(q *kvrpcpb.RawBatchScanRequest) *Request { return newRequest(rawBatchScanSpec, q) }

var rawCoprocessorSpec = &spec[*kvrpcpb.RawCoprocessorRequest, *kvrpcpb.RawCoprocessorResponse]{
	typ:    CmdRawCoprocessor,
	getCtx: (*kvrpcpb.RawCoprocessorRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawCoprocessorRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawCoprocessor,
	wrap: func(q *kvrpcpb.RawCoprocessorRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawCoprocessor{RawCoprocessor: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetRawCoprocessor,
}

// NewRawCoprocessor wraps a RawCoprocessorRequest in a [Request]; the response message is a
// *kvrpcpb.RawCoprocessorResponse. It travels in the BatchCommands stream when batching is on.
func NewRawCoprocessor(q *kvrpcpb.RawCoprocessorRequest) *Request {
	return newRequest(rawCoprocessorSpec, q)
}

var getHealthFeedbackSpec = &spec[*kvrpcpb.GetHealthFeedbackRequest, *kvrpcpb.GetHealthFeedbackResponse]{
	typ:    CmdGetHealthFeedback,
	getCtx: (*kvrpcpb.GetHealthFeedbackRequest).GetContext,
	setCtx: func(q *kvrpcpb.GetHealthFeedbackRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.GetHealthFeedback,
	wrap: func(q *kvrpcpb.GetHealthFeedbackRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_GetHealthFeedback{GetHealthFeedback: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetGetHealthFeedback,
}

// NewGetHealthFeedback wraps a GetHealthFeedbackRequest in a [Request]; the response message is a
// *kvrpcpb.GetHealthFeedbackResponse. It travels in the BatchCommands stream when batching is on.
func NewGetHealthFeedback(q *kvrpcpb.GetHealthFeedbackRequest) *Request {
	return newRequest(getHealthFeedbackSpec, q)
}

var broadcastTxnStatusSpec = &spec[*kvrpcpb.BroadcastTxnStatusRequest, *kvrpcpb.BroadcastTxnStatusResponse]{
	typ:    CmdBroadcastTxnStatus,
	getCtx: (*kvrpcpb.BroadcastTxnStatusRequest).GetContext,
	setCtx: func(q *kvrpcpb.BroadcastTxnStatusRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.BroadcastTxnStatus,
	wrap: func(q *kvrpcpb.BroadcastTxnStatusRequest) *tikvpb.BatchCommandsRequest_Request {
		return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_BroadcastTxnStatus{BroadcastTxnStatus: q}}
	},
	unwrap: (*tikvpb.BatchCommandsResponse_Response).GetBroadcastTxnStatus,
}

// NewBroadcastTxnStatus wraps a BroadcastTxnStatusRequest in a [Request]; the response message is a
// *kvrpcpb.BroadcastTxnStatusResponse. It travels in the BatchCommands stream when batching is on.
func NewBroadcastTxnStatus(q *kvrpcpb.BroadcastTxnStatusRequest) *Request {
	return newRequest(broadcastTxnStatusSpec, q)
}

var rawGetKeyTTLSpec = &spec[*kvrpcpb.RawGetKeyTTLRequest, *kvrpcpb.RawGetKeyTTLResponse]{
	typ:    CmdRawGetKeyTTL,
	getCtx: (*kvrpcpb.RawGetKeyTTLRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawGetKeyTTLRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawGetKeyTTL,
}

// NewRawGetKeyTTL wraps a RawGetKeyTTLRequest in a [Request]; the response message is a
// *kvrpcpb.RawGetKeyTTLResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewRawGetKeyTTL(q *kvrpcpb.RawGetKeyTTLRequest) *Request { return newRequest(rawGetKeyTTLSpec, q) }

var rawCompareAndSwapSpec = &spec[*kvrpcpb.RawCASRequest, *kvrpcpb.RawCASResponse]{
	typ:    CmdRawCompareAndSwap,
	getCtx: (*kvrpcpb.RawCASRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawCASRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawCompareAndSwap,
}

// NewRawCompareAndSwap wraps a RawCASRequest in a [Request]; the response message is a
// *kvrpcpb.RawCASResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewRawCompareAndSwap(q *kvrpcpb.RawCASRequest) *Request {
	return newRequest(rawCompareAndSwapSpec, q)
}

var rawChecksumSpec = &spec[*kvrpcpb.RawChecksumRequest, *kvrpcpb.RawChecksumResponse]{
	typ:    CmdRawChecksum,
	getCtx: (*kvrpcpb.RawChecksumRequest).GetContext,
	setCtx: func(q *kvrpcpb.RawChecksumRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.RawChecksum,
}

// NewRawChecksum wraps a RawChecksumRequest in a [Request]; the response message is a
// *kvrpcpb.RawChecksumResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewRawChecksum(q *kvrpcpb.RawChecksumRequest) *Request { return newRequest(rawChecksumSpec, q) }

var unsafeDestroyRangeSpec = &spec[*kvrpcpb.UnsafeDestroyRangeRequest, *kvrpcpb.UnsafeDestroyRangeResponse]{
	typ:    CmdUnsafeDestroyRange,
	getCtx: (*kvrpcpb.UnsafeDestroyRangeRequest).GetContext,
	setCtx: func(q *kvrpcpb.UnsafeDestroyRangeRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.UnsafeDestroyRange,
}

// NewUnsafeDestroyRange wraps a UnsafeDestroyRangeRequest in a [Request]; the response message is a
// *kvrpcpb.UnsafeDestroyRangeResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewUnsafeDestroyRange(q *kvrpcpb.UnsafeDestroyRangeRequest) *Request {
	return newRequest(unsafeDestroyRangeSpec, q)
}

var splitRegionSpec = &spec[*kvrpcpb.SplitRegionRequest, *kvrpcpb.SplitRegionResponse]{
	typ:    CmdSplitRegion,
	getCtx: (*kvrpcpb.SplitRegionRequest).GetContext,
	setCtx: func(q *kvrpcpb.SplitRegionRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.SplitRegion,
}

// NewSplitRegion wraps a SplitRegionRequest in a [Request]; the response message is a
// *kvrpcpb.SplitRegionResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewSplitRegion(q *kvrpcpb.SplitRegionRequest) *Request { return newRequest(splitRegionSpec, q) }

var mvccGetByKeySpec = &spec[*kvrpcpb.MvccGetByKeyRequest, *kvrpcpb.MvccGetByKeyResponse]{
	typ:    CmdMvccGetByKey,
	getCtx: (*kvrpcpb.MvccGetByKeyRequest).GetContext,
	setCtx: func(q *kvrpcpb.MvccGetByKeyRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.MvccGetByKey,
}

// NewMvccGetByKey wraps a MvccGetByKeyRequest in a [Request]; the response message is a
// *kvrpcpb.MvccGetByKeyResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewMvccGetByKey(q *kvrpcpb.MvccGetByKeyRequest) *Request { return newRequest(mvccGetByKeySpec, q) }

var mvccGetByStartTsSpec = &spec[*kvrpcpb.MvccGetByStartTsRequest, *kvrpcpb.MvccGetByStartTsResponse]{
	typ:    CmdMvccGetByStartTs,
	getCtx: (*kvrpcpb.MvccGetByStartTsRequest).GetContext,
	setCtx: func(q *kvrpcpb.MvccGetByStartTsRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.MvccGetByStartTs,
}

// NewMvccGetByStartTs wraps a MvccGetByStartTsRequest in a [Request]; the response message is a
// *kvrpcpb.MvccGetByStartTsResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewMvccGetByStartTs(q *kvrpcpb.MvccGetByStartTsRequest) *Request {
	return newRequest(mvccGetByStartTsSpec, q)
}

var lockWaitInfoSpec = &spec[*kvrpcpb.GetLockWaitInfoRequest, *kvrpcpb.GetLockWaitInfoResponse]{
	typ:    CmdLockWaitInfo,
	getCtx: (*kvrpcpb.GetLockWaitInfoRequest).GetContext,
	setCtx: func(q *kvrpcpb.GetLockWaitInfoRequest, c *kvrpcpb.Context) { q.Context = c },
	call:   tikvpb.TikvClient.GetLockWaitInfo,
}

// NewLockWaitInfo wraps a GetLockWaitInfoRequest in a [Request]; the response message is a
// *kvrpcpb.GetLockWaitInfoResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewLockWaitInfo(q *kvrpcpb.GetLockWaitInfoRequest) *Request {
	return newRequest(lockWaitInfoSpec, q)
}

var storeSafeTSSpec = &spec[*kvrpcpb.StoreSafeTSRequest, *kvrpcpb.StoreSafeTSResponse]{
	typ:  CmdStoreSafeTS,
	call: tikvpb.TikvClient.GetStoreSafeTS,
}

// NewStoreSafeTS wraps a StoreSafeTSRequest in a [Request]; the response message is a
// *kvrpcpb.StoreSafeTSResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewStoreSafeTS(q *kvrpcpb.StoreSafeTSRequest) *Request { return newRequest(storeSafeTSSpec, q) }

var checkLeaderSpec = &spec[*kvrpcpb.CheckLeaderRequest, *kvrpcpb.CheckLeaderResponse]{
	typ:  CmdCheckLeader,
	call: tikvpb.TikvClient.CheckLeader,
}

// NewCheckLeader wraps a CheckLeaderRequest in a [Request]; the response message is a
// *kvrpcpb.CheckLeaderResponse. TiKV does not accept it in a BatchCommands stream, so it is always sent unary.
func NewCheckLeader(q *kvrpcpb.CheckLeaderRequest) *Request { return newRequest(checkLeaderSpec, q) }
