package kvrpc

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// TestCommandTableArms checks the generated arm numbers against the
// generated oneof wrappers: the fast encoder writes a request under its arm
// number, which must be the field the wrapper marshals to, and the fast
// decoders look for the same number in the response.
func TestCommandTableArms(t *testing.T) {
	t.Parallel()
	for _, r := range []*Request{
		NewGet(&kvrpcpb.GetRequest{}), NewScan(&kvrpcpb.ScanRequest{}), NewPrewrite(&kvrpcpb.PrewriteRequest{}),
		NewCommit(&kvrpcpb.CommitRequest{}), NewPessimisticRollback(&kvrpcpb.PessimisticRollbackRequest{}),
		NewCheckSecondaryLocks(&kvrpcpb.CheckSecondaryLocksRequest{}), NewGC(&kvrpcpb.GCRequest{}),
		NewRawGet(&kvrpcpb.RawGetRequest{}), NewRawScan(&kvrpcpb.RawScanRequest{}),
		NewRawBatchDelete(&kvrpcpb.RawBatchDeleteRequest{}), NewBroadcastTxnStatus(&kvrpcpb.BroadcastTxnStatusRequest{}),
	} {
		t.Run(string(r.Type()), func(t *testing.T) {
			t.Parallel()
			b, err := r.cmd.toBatch(r.msg).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			num, _, ok := responseArm(b)
			if !ok || num != r.cmd.batchArm() {
				t.Fatalf("wrapper marshals to field %d, table says %d", num, r.cmd.batchArm())
			}
		})
	}
	for _, r := range []*Request{NewRawCompareAndSwap(&kvrpcpb.RawCASRequest{}), NewSplitRegion(&kvrpcpb.SplitRegionRequest{})} {
		if r.Batchable() || r.cmd.batchArm() != 0 {
			t.Errorf("%s: batchable, but TiKV has no arm for it", r.Type())
		}
	}
}

func TestRequestIdempotent(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		req  *Request
		want bool
	}{
		"read":                {NewRawGet(&kvrpcpb.RawGetRequest{}), true},
		"txn read":            {NewBatchGet(&kvrpcpb.BatchGetRequest{}), true},
		"prewrite":            {NewPrewrite(&kvrpcpb.PrewriteRequest{}), true},
		"commit":              {NewCommit(&kvrpcpb.CommitRequest{}), true},
		"raw put":             {NewRawPut(&kvrpcpb.RawPutRequest{}), true},
		"raw put for cas":     {NewRawPut(&kvrpcpb.RawPutRequest{ForCas: true}), false},
		"raw batch put cas":   {NewRawBatchPut(&kvrpcpb.RawBatchPutRequest{ForCas: true}), false},
		"raw delete":          {NewRawDelete(&kvrpcpb.RawDeleteRequest{}), true},
		"raw delete cas":      {NewRawDelete(&kvrpcpb.RawDeleteRequest{ForCas: true}), false},
		"raw batch delete":    {NewRawBatchDelete(&kvrpcpb.RawBatchDeleteRequest{}), true},
		"raw batch del cas":   {NewRawBatchDelete(&kvrpcpb.RawBatchDeleteRequest{ForCas: true}), false},
		"compare and swap":    {NewRawCompareAndSwap(&kvrpcpb.RawCASRequest{}), false},
		"raw coprocessor":     {NewRawCoprocessor(&kvrpcpb.RawCoprocessorRequest{}), false},
		"split region":        {NewSplitRegion(&kvrpcpb.SplitRegionRequest{}), false},
		"store-level read":    {NewStoreSafeTS(&kvrpcpb.StoreSafeTSRequest{}), true},
		"raw delete range":    {NewRawDeleteRange(&kvrpcpb.RawDeleteRangeRequest{}), true},
		"pessimistic lock":    {NewPessimisticLock(&kvrpcpb.PessimisticLockRequest{}), true},
		"unsafe destroy rng":  {NewUnsafeDestroyRange(&kvrpcpb.UnsafeDestroyRangeRequest{}), true},
		"check txn status":    {NewCheckTxnStatus(&kvrpcpb.CheckTxnStatusRequest{}), true},
		"resolve lock":        {NewResolveLock(&kvrpcpb.ResolveLockRequest{}), true},
		"batch rollback":      {NewBatchRollback(&kvrpcpb.BatchRollbackRequest{}), true},
		"flashback":           {NewFlashbackToVersion(&kvrpcpb.FlashbackToVersionRequest{}), true},
		"broadcast txn state": {NewBroadcastTxnStatus(&kvrpcpb.BroadcastTxnStatusRequest{}), true},
	} {
		if got := tc.req.Idempotent(); got != tc.want {
			t.Errorf("%s: Idempotent() = %v, want %v", name, got, tc.want)
		}
	}
}
