package tikvsim

import (
	"context"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// GetLockWaitInfo lists the pessimistic lock requests waiting for another
// transaction's lock, as TiKV's lock manager reports them. The cluster keeps
// one engine for all stores, so every store answers with the waits of the
// whole cluster rather than only those of its own regions.
func (t *tikvService) GetLockWaitInfo(ctx context.Context, req *kvrpcpb.GetLockWaitInfoRequest) (*kvrpcpb.GetLockWaitInfoResponse, error) {
	return serve(ctx, t.s, &call{cmd: "GetLockWaitInfo", rctx: req.GetContext(), storeLevel: true},
		func(context.Context, *region) (*kvrpcpb.GetLockWaitInfoResponse, *errorpb.Error) {
			return &kvrpcpb.GetLockWaitInfoResponse{Entries: t.s.c.engine.LockWaits()}, nil
		})
}
