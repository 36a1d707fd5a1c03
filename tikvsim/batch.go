package tikvsim

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxBatchResponses bounds the sub-responses in one BatchCommandsResponse,
// as TiKV does.
const maxBatchResponses = 128

// healthFeedbackInterval is TiKV's default health-feedback-interval.
const healthFeedbackInterval = time.Second

type batchResult struct {
	id   uint64
	resp *tikvpb.BatchCommandsResponse_Response
}

// BatchCommands serves the multiplexed stream. Every sub-request runs in
// its own goroutine exactly like its unary RPC; responses go back as they
// finish, so they come out of order and grouped across messages in
// whatever way completion produced (each message lists what was ready, in
// reverse completion order). A gRPC error from a sub-request (cluster id
// mismatch, an injected gRPC code) ends the whole stream with that error.
// KvGC sub-requests are never answered, as in TiKV; sub-requests reaching a
// partitioned store are dropped.
func (t *tikvService) BatchCommands(stream tikvpb.Tikv_BatchCommandsServer) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	results := make(chan batchResult, maxBatchResponses)
	sendDone := make(chan error, 1)
	go func() { sendDone <- t.batchSender(stream, results) }()

	// spawn starts one sub-request unless the stream is shutting down; the
	// receive loop may still be blocked in Recv after the handler decided
	// to end, so it must not add workers after workers.Wait has started.
	var (
		mu       sync.Mutex
		stopping bool
		workers  sync.WaitGroup
	)
	spawn := func(id uint64, sub *tikvpb.BatchCommandsRequest_Request) {
		mu.Lock()
		defer mu.Unlock()
		if stopping {
			return
		}
		workers.Add(1)
		go func() {
			defer workers.Done()
			resp, err := t.dispatch(ctx, sub)
			if err != nil {
				cancel(err)
				return
			}
			if resp == nil {
				return // no answer (KvGC, partition)
			}
			select {
			case results <- batchResult{id, resp}:
			case <-ctx.Done():
			}
		}()
	}
	recvDone := make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			if len(req.GetRequests()) != len(req.GetRequestIds()) {
				recvDone <- status.Error(codes.InvalidArgument, "requests and request_ids differ in length")
				return
			}
			for i, sub := range req.GetRequests() {
				spawn(req.GetRequestIds()[i], sub)
			}
		}
	}()
	var recvErr error
	select {
	case recvErr = <-recvDone:
		if !errors.Is(recvErr, io.EOF) {
			cancel(recvErr)
		}
	case <-ctx.Done():
	}
	mu.Lock()
	stopping = true
	mu.Unlock()
	workers.Wait()
	close(results)
	sendErr := <-sendDone
	if cause := context.Cause(ctx); cause != nil {
		if _, ok := status.FromError(cause); ok && status.Code(cause) != codes.OK {
			return cause
		}
		if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
			return status.FromContextError(cause).Err()
		}
	}
	if sendErr != nil {
		return sendErr
	}
	if recvErr != nil && !errors.Is(recvErr, io.EOF) {
		return recvErr
	}
	return nil
}

// batchSender writes results, grouping whatever is ready into one message.
func (t *tikvService) batchSender(stream tikvpb.Tikv_BatchCommandsServer, results <-chan batchResult) error {
	var (
		failed       error
		lastFeedback time.Time
	)
	for first := range results {
		if failed != nil {
			continue // drain so workers never block
		}
		ready := []batchResult{first}
	fill:
		for len(ready) < maxBatchResponses {
			select {
			case r, ok := <-results:
				if !ok {
					break fill
				}
				ready = append(ready, r)
			default:
				break fill
			}
		}
		msg := &tikvpb.BatchCommandsResponse{
			Responses:      make([]*tikvpb.BatchCommandsResponse_Response, 0, len(ready)),
			RequestIds:     make([]uint64, 0, len(ready)),
			TikvSendTimeNs: uint64(time.Now().UnixNano()),
		}
		for i := len(ready) - 1; i >= 0; i-- {
			msg.Responses = append(msg.Responses, ready[i].resp)
			msg.RequestIds = append(msg.RequestIds, ready[i].id)
			if hf := ready[i].resp.GetGetHealthFeedback().GetHealthFeedback(); hf != nil {
				msg.HealthFeedback = hf
			}
		}
		// TiKV attaches health feedback at most once per interval (1 s by
		// default), and always with a GetHealthFeedback sub-response.
		if now := time.Now(); msg.HealthFeedback == nil && now.Sub(lastFeedback) >= healthFeedbackInterval {
			msg.HealthFeedback = t.s.healthFeedback()
			lastFeedback = now
		}
		if err := stream.Send(msg); err != nil {
			failed = err
		}
	}
	return failed
}

// dispatch runs one sub-request. A nil response with a nil error means the
// sub-request gets no answer.
func (t *tikvService) dispatch(ctx context.Context, sub *tikvpb.BatchCommandsRequest_Request) (*tikvpb.BatchCommandsResponse_Response, error) {
	if t.s.partitioned() != nil {
		return nil, nil
	}
	out := &tikvpb.BatchCommandsResponse_Response{}
	var err error
	switch r := sub.GetCmd().(type) {
	case *tikvpb.BatchCommandsRequest_Request_Get:
		var x *kvrpcpb.GetResponse
		x, err = t.KvGet(ctx, r.Get)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Get{Get: x}
	case *tikvpb.BatchCommandsRequest_Request_Scan:
		var x *kvrpcpb.ScanResponse
		x, err = t.KvScan(ctx, r.Scan)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Scan{Scan: x}
	case *tikvpb.BatchCommandsRequest_Request_Prewrite:
		var x *kvrpcpb.PrewriteResponse
		x, err = t.KvPrewrite(ctx, r.Prewrite)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Prewrite{Prewrite: x}
	case *tikvpb.BatchCommandsRequest_Request_Commit:
		var x *kvrpcpb.CommitResponse
		x, err = t.KvCommit(ctx, r.Commit)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Commit{Commit: x}
	case *tikvpb.BatchCommandsRequest_Request_Cleanup:
		var x *kvrpcpb.CleanupResponse
		x, err = t.KvCleanup(ctx, r.Cleanup)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Cleanup{Cleanup: x}
	case *tikvpb.BatchCommandsRequest_Request_BatchGet:
		var x *kvrpcpb.BatchGetResponse
		x, err = t.KvBatchGet(ctx, r.BatchGet)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_BatchGet{BatchGet: x}
	case *tikvpb.BatchCommandsRequest_Request_BatchRollback:
		var x *kvrpcpb.BatchRollbackResponse
		x, err = t.KvBatchRollback(ctx, r.BatchRollback)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_BatchRollback{BatchRollback: x}
	case *tikvpb.BatchCommandsRequest_Request_ScanLock:
		var x *kvrpcpb.ScanLockResponse
		x, err = t.KvScanLock(ctx, r.ScanLock)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_ScanLock{ScanLock: x}
	case *tikvpb.BatchCommandsRequest_Request_ResolveLock:
		var x *kvrpcpb.ResolveLockResponse
		x, err = t.KvResolveLock(ctx, r.ResolveLock)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_ResolveLock{ResolveLock: x}
	case *tikvpb.BatchCommandsRequest_Request_GC:
		t.s.c.observe(t.s.id, "KvGC")
		return nil, nil // TiKV never answers a GC sub-request
	case *tikvpb.BatchCommandsRequest_Request_DeleteRange:
		var x *kvrpcpb.DeleteRangeResponse
		x, err = t.KvDeleteRange(ctx, r.DeleteRange)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_DeleteRange{DeleteRange: x}
	case *tikvpb.BatchCommandsRequest_Request_RawGet:
		var x *kvrpcpb.RawGetResponse
		x, err = t.RawGet(ctx, r.RawGet)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: x}
	case *tikvpb.BatchCommandsRequest_Request_RawBatchGet:
		var x *kvrpcpb.RawBatchGetResponse
		x, err = t.RawBatchGet(ctx, r.RawBatchGet)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawBatchGet{RawBatchGet: x}
	case *tikvpb.BatchCommandsRequest_Request_RawPut:
		var x *kvrpcpb.RawPutResponse
		x, err = t.RawPut(ctx, r.RawPut)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawPut{RawPut: x}
	case *tikvpb.BatchCommandsRequest_Request_RawBatchPut:
		var x *kvrpcpb.RawBatchPutResponse
		x, err = t.RawBatchPut(ctx, r.RawBatchPut)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawBatchPut{RawBatchPut: x}
	case *tikvpb.BatchCommandsRequest_Request_RawDelete:
		var x *kvrpcpb.RawDeleteResponse
		x, err = t.RawDelete(ctx, r.RawDelete)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawDelete{RawDelete: x}
	case *tikvpb.BatchCommandsRequest_Request_RawBatchDelete:
		var x *kvrpcpb.RawBatchDeleteResponse
		x, err = t.RawBatchDelete(ctx, r.RawBatchDelete)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawBatchDelete{RawBatchDelete: x}
	case *tikvpb.BatchCommandsRequest_Request_RawScan:
		var x *kvrpcpb.RawScanResponse
		x, err = t.RawScan(ctx, r.RawScan)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawScan{RawScan: x}
	case *tikvpb.BatchCommandsRequest_Request_RawDeleteRange:
		var x *kvrpcpb.RawDeleteRangeResponse
		x, err = t.RawDeleteRange(ctx, r.RawDeleteRange)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawDeleteRange{RawDeleteRange: x}
	case *tikvpb.BatchCommandsRequest_Request_RawBatchScan:
		var x *kvrpcpb.RawBatchScanResponse
		x, err = t.RawBatchScan(ctx, r.RawBatchScan)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_RawBatchScan{RawBatchScan: x}
	case *tikvpb.BatchCommandsRequest_Request_PessimisticLock:
		var x *kvrpcpb.PessimisticLockResponse
		x, err = t.KvPessimisticLock(ctx, r.PessimisticLock)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_PessimisticLock{PessimisticLock: x}
	case *tikvpb.BatchCommandsRequest_Request_PessimisticRollback:
		var x *kvrpcpb.PessimisticRollbackResponse
		x, err = t.KVPessimisticRollback(ctx, r.PessimisticRollback)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_PessimisticRollback{PessimisticRollback: x}
	case *tikvpb.BatchCommandsRequest_Request_CheckTxnStatus:
		var x *kvrpcpb.CheckTxnStatusResponse
		x, err = t.KvCheckTxnStatus(ctx, r.CheckTxnStatus)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_CheckTxnStatus{CheckTxnStatus: x}
	case *tikvpb.BatchCommandsRequest_Request_TxnHeartBeat:
		var x *kvrpcpb.TxnHeartBeatResponse
		x, err = t.KvTxnHeartBeat(ctx, r.TxnHeartBeat)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_TxnHeartBeat{TxnHeartBeat: x}
	case *tikvpb.BatchCommandsRequest_Request_CheckSecondaryLocks:
		var x *kvrpcpb.CheckSecondaryLocksResponse
		x, err = t.KvCheckSecondaryLocks(ctx, r.CheckSecondaryLocks)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_CheckSecondaryLocks{CheckSecondaryLocks: x}
	case *tikvpb.BatchCommandsRequest_Request_Flush:
		var x *kvrpcpb.FlushResponse
		x, err = t.KvFlush(ctx, r.Flush)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Flush{Flush: x}
	case *tikvpb.BatchCommandsRequest_Request_BufferBatchGet:
		var x *kvrpcpb.BufferBatchGetResponse
		x, err = t.KvBufferBatchGet(ctx, r.BufferBatchGet)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_BufferBatchGet{BufferBatchGet: x}
	case *tikvpb.BatchCommandsRequest_Request_GetHealthFeedback:
		var x *kvrpcpb.GetHealthFeedbackResponse
		x, err = t.GetHealthFeedback(ctx, r.GetHealthFeedback)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_GetHealthFeedback{GetHealthFeedback: x}
	case *tikvpb.BatchCommandsRequest_Request_BroadcastTxnStatus:
		var x *kvrpcpb.BroadcastTxnStatusResponse
		x, err = t.BroadcastTxnStatus(ctx, r.BroadcastTxnStatus)
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_BroadcastTxnStatus{BroadcastTxnStatus: x}
	case *tikvpb.BatchCommandsRequest_Request_Empty:
		t.s.c.observe(t.s.id, "Empty")
		if d := time.Duration(r.Empty.GetDelayTime()) * time.Millisecond; d >= 10*time.Millisecond {
			if werr := waitDelay(ctx, d); werr != nil {
				return nil, nil
			}
		}
		out.Cmd = &tikvpb.BatchCommandsResponse_Response_Empty{Empty: &tikvpb.BatchCommandsEmptyResponse{TestId: r.Empty.GetTestId()}}
	default:
		// No cmd, or a kind this simulator does not serve: an empty answer.
		t.s.c.observeUnservedBatch(t.s.id, sub.GetCmd())
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
