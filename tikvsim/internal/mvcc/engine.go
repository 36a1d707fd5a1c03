package mvcc

import (
	"context"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Options configures an [Engine].
type Options struct {
	// Now is the wall clock used for raw TTL expiry; nil means time.Now.
	Now func() time.Time
}

// Engine is the shared storage engine of a simulated cluster. It is safe for concurrent use.
type Engine struct{ opts Options }

// New returns an empty engine.
func New(opts Options) *Engine { return &Engine{opts: opts} }

// Close wakes every lock waiter; it leaves no goroutine behind.
func (e *Engine) Close() {}

// MaxTS returns the concurrency manager's max_ts.
func (e *Engine) MaxTS() uint64 { return 0 }

// UpdateMaxTS raises max_ts to ts.
func (e *Engine) UpdateMaxTS(ts uint64) {}

// GC drops versions below safePoint as TiKV's compaction-filter GC does.
func (e *Engine) GC(safePoint uint64) {}

// Keys returns the number of user keys with any record.
func (e *Engine) Keys() int { return 0 }

// KvGet serves a KvGet request (stub).
func (e *Engine) KvGet(ctx context.Context, req *kvrpcpb.GetRequest) *kvrpcpb.GetResponse {
	return &kvrpcpb.GetResponse{}
}

// KvScan serves a KvScan request (stub).
func (e *Engine) KvScan(ctx context.Context, req *kvrpcpb.ScanRequest) *kvrpcpb.ScanResponse {
	return &kvrpcpb.ScanResponse{}
}

// KvBatchGet serves a KvBatchGet request (stub).
func (e *Engine) KvBatchGet(ctx context.Context, req *kvrpcpb.BatchGetRequest) *kvrpcpb.BatchGetResponse {
	return &kvrpcpb.BatchGetResponse{}
}

// KvPrewrite serves a KvPrewrite request (stub).
func (e *Engine) KvPrewrite(ctx context.Context, req *kvrpcpb.PrewriteRequest) *kvrpcpb.PrewriteResponse {
	return &kvrpcpb.PrewriteResponse{}
}

// KvPessimisticLock serves a KvPessimisticLock request (stub).
func (e *Engine) KvPessimisticLock(ctx context.Context, req *kvrpcpb.PessimisticLockRequest) *kvrpcpb.PessimisticLockResponse {
	return &kvrpcpb.PessimisticLockResponse{}
}

// KVPessimisticRollback serves a KVPessimisticRollback request (stub).
func (e *Engine) KVPessimisticRollback(ctx context.Context, req *kvrpcpb.PessimisticRollbackRequest) *kvrpcpb.PessimisticRollbackResponse {
	return &kvrpcpb.PessimisticRollbackResponse{}
}

// KvCommit serves a KvCommit request (stub).
func (e *Engine) KvCommit(ctx context.Context, req *kvrpcpb.CommitRequest) *kvrpcpb.CommitResponse {
	return &kvrpcpb.CommitResponse{}
}

// KvCleanup serves a KvCleanup request (stub).
func (e *Engine) KvCleanup(ctx context.Context, req *kvrpcpb.CleanupRequest) *kvrpcpb.CleanupResponse {
	return &kvrpcpb.CleanupResponse{}
}

// KvBatchRollback serves a KvBatchRollback request (stub).
func (e *Engine) KvBatchRollback(ctx context.Context, req *kvrpcpb.BatchRollbackRequest) *kvrpcpb.BatchRollbackResponse {
	return &kvrpcpb.BatchRollbackResponse{}
}

// KvCheckTxnStatus serves a KvCheckTxnStatus request (stub).
func (e *Engine) KvCheckTxnStatus(ctx context.Context, req *kvrpcpb.CheckTxnStatusRequest) *kvrpcpb.CheckTxnStatusResponse {
	return &kvrpcpb.CheckTxnStatusResponse{}
}

// KvCheckSecondaryLocks serves a KvCheckSecondaryLocks request (stub).
func (e *Engine) KvCheckSecondaryLocks(ctx context.Context, req *kvrpcpb.CheckSecondaryLocksRequest) *kvrpcpb.CheckSecondaryLocksResponse {
	return &kvrpcpb.CheckSecondaryLocksResponse{}
}

// KvTxnHeartBeat serves a KvTxnHeartBeat request (stub).
func (e *Engine) KvTxnHeartBeat(ctx context.Context, req *kvrpcpb.TxnHeartBeatRequest) *kvrpcpb.TxnHeartBeatResponse {
	return &kvrpcpb.TxnHeartBeatResponse{}
}

// KvScanLock serves a KvScanLock request (stub).
func (e *Engine) KvScanLock(ctx context.Context, req *kvrpcpb.ScanLockRequest) *kvrpcpb.ScanLockResponse {
	return &kvrpcpb.ScanLockResponse{}
}

// KvResolveLock serves a KvResolveLock request (stub).
func (e *Engine) KvResolveLock(ctx context.Context, req *kvrpcpb.ResolveLockRequest) *kvrpcpb.ResolveLockResponse {
	return &kvrpcpb.ResolveLockResponse{}
}

// KvGC serves a KvGC request (stub).
func (e *Engine) KvGC(ctx context.Context, req *kvrpcpb.GCRequest) *kvrpcpb.GCResponse {
	return &kvrpcpb.GCResponse{}
}

// KvDeleteRange serves a KvDeleteRange request (stub).
func (e *Engine) KvDeleteRange(ctx context.Context, req *kvrpcpb.DeleteRangeRequest) *kvrpcpb.DeleteRangeResponse {
	return &kvrpcpb.DeleteRangeResponse{}
}

// UnsafeDestroyRange serves a UnsafeDestroyRange request (stub).
func (e *Engine) UnsafeDestroyRange(ctx context.Context, req *kvrpcpb.UnsafeDestroyRangeRequest) *kvrpcpb.UnsafeDestroyRangeResponse {
	return &kvrpcpb.UnsafeDestroyRangeResponse{}
}

// KvFlush serves a KvFlush request (stub).
func (e *Engine) KvFlush(ctx context.Context, req *kvrpcpb.FlushRequest) *kvrpcpb.FlushResponse {
	return &kvrpcpb.FlushResponse{}
}

// KvBufferBatchGet serves a KvBufferBatchGet request (stub).
func (e *Engine) KvBufferBatchGet(ctx context.Context, req *kvrpcpb.BufferBatchGetRequest) *kvrpcpb.BufferBatchGetResponse {
	return &kvrpcpb.BufferBatchGetResponse{}
}

// RawGet serves a RawGet request (stub).
func (e *Engine) RawGet(ctx context.Context, req *kvrpcpb.RawGetRequest) *kvrpcpb.RawGetResponse {
	return &kvrpcpb.RawGetResponse{}
}

// RawBatchGet serves a RawBatchGet request (stub).
func (e *Engine) RawBatchGet(ctx context.Context, req *kvrpcpb.RawBatchGetRequest) *kvrpcpb.RawBatchGetResponse {
	return &kvrpcpb.RawBatchGetResponse{}
}

// RawPut serves a RawPut request (stub).
func (e *Engine) RawPut(ctx context.Context, req *kvrpcpb.RawPutRequest) *kvrpcpb.RawPutResponse {
	return &kvrpcpb.RawPutResponse{}
}

// RawBatchPut serves a RawBatchPut request (stub).
func (e *Engine) RawBatchPut(ctx context.Context, req *kvrpcpb.RawBatchPutRequest) *kvrpcpb.RawBatchPutResponse {
	return &kvrpcpb.RawBatchPutResponse{}
}

// RawDelete serves a RawDelete request (stub).
func (e *Engine) RawDelete(ctx context.Context, req *kvrpcpb.RawDeleteRequest) *kvrpcpb.RawDeleteResponse {
	return &kvrpcpb.RawDeleteResponse{}
}

// RawBatchDelete serves a RawBatchDelete request (stub).
func (e *Engine) RawBatchDelete(ctx context.Context, req *kvrpcpb.RawBatchDeleteRequest) *kvrpcpb.RawBatchDeleteResponse {
	return &kvrpcpb.RawBatchDeleteResponse{}
}

// RawScan serves a RawScan request (stub).
func (e *Engine) RawScan(ctx context.Context, req *kvrpcpb.RawScanRequest) *kvrpcpb.RawScanResponse {
	return &kvrpcpb.RawScanResponse{}
}

// RawBatchScan serves a RawBatchScan request (stub).
func (e *Engine) RawBatchScan(ctx context.Context, req *kvrpcpb.RawBatchScanRequest) *kvrpcpb.RawBatchScanResponse {
	return &kvrpcpb.RawBatchScanResponse{}
}

// RawDeleteRange serves a RawDeleteRange request (stub).
func (e *Engine) RawDeleteRange(ctx context.Context, req *kvrpcpb.RawDeleteRangeRequest) *kvrpcpb.RawDeleteRangeResponse {
	return &kvrpcpb.RawDeleteRangeResponse{}
}

// RawGetKeyTTL serves a RawGetKeyTTL request (stub).
func (e *Engine) RawGetKeyTTL(ctx context.Context, req *kvrpcpb.RawGetKeyTTLRequest) *kvrpcpb.RawGetKeyTTLResponse {
	return &kvrpcpb.RawGetKeyTTLResponse{}
}

// RawCompareAndSwap serves a RawCompareAndSwap request (stub).
func (e *Engine) RawCompareAndSwap(ctx context.Context, req *kvrpcpb.RawCASRequest) *kvrpcpb.RawCASResponse {
	return &kvrpcpb.RawCASResponse{}
}

// RawChecksum serves a RawChecksum request (stub).
func (e *Engine) RawChecksum(ctx context.Context, req *kvrpcpb.RawChecksumRequest) *kvrpcpb.RawChecksumResponse {
	return &kvrpcpb.RawChecksumResponse{}
}
