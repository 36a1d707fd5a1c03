package main

import (
	"context"
	"fmt"
	"reflect"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
)

// The differential test used to build its requests with client-go's
// tikvrpc package; this module holds tikvgo's kvproto, which client-go does
// not compile against, so here is the small part of it the test needs:
// a command type, a request with its Context, and a dispatcher onto the
// generated gRPC client.

// CmdType names a TiKV command.
type CmdType int

// The commands the differential test sends.
const (
	CmdGet CmdType = iota + 1
	CmdBatchGet
	CmdScan
	CmdPrewrite
	CmdPessimisticLock
	CmdPessimisticRollback
	CmdCommit
	CmdCleanup
	CmdBatchRollback
	CmdCheckTxnStatus
	CmdTxnHeartBeat
	CmdScanLock
	CmdResolveLock
	CmdDeleteRange
	CmdRawGet
	CmdRawBatchGet
	CmdRawPut
	CmdRawBatchPut
	CmdRawDelete
	CmdRawBatchDelete
	CmdRawDeleteRange
	CmdRawScan
	CmdRawCompareAndSwap
	CmdRawChecksum
)

var cmdNames = map[CmdType]string{
	CmdGet: "Get", CmdBatchGet: "BatchGet", CmdScan: "Scan", CmdPrewrite: "Prewrite",
	CmdPessimisticLock: "PessimisticLock", CmdPessimisticRollback: "PessimisticRollback",
	CmdCommit: "Commit", CmdCleanup: "Cleanup", CmdBatchRollback: "BatchRollback",
	CmdCheckTxnStatus: "CheckTxnStatus", CmdTxnHeartBeat: "TxnHeartBeat", CmdScanLock: "ScanLock",
	CmdResolveLock: "ResolveLock", CmdDeleteRange: "DeleteRange", CmdRawGet: "RawGet",
	CmdRawBatchGet: "RawBatchGet", CmdRawPut: "RawPut", CmdRawBatchPut: "RawBatchPut",
	CmdRawDelete: "RawDelete", CmdRawBatchDelete: "RawBatchDelete", CmdRawDeleteRange: "RawDeleteRange",
	CmdRawScan: "RawScan", CmdRawCompareAndSwap: "RawCompareAndSwap", CmdRawChecksum: "RawChecksum",
}

func (c CmdType) String() string {
	if n, ok := cmdNames[c]; ok {
		return n
	}
	return fmt.Sprintf("CmdType(%d)", int(c))
}

// Request is one command with the Context it is sent with.
type Request struct {
	Type    CmdType
	Req     wireMessage
	Context kvrpcpb.Context
}

// Response holds the typed answer (*kvrpcpb.XxxResponse).
type Response struct{ Resp any }

// NewRequest returns a request of type typ carrying req and ctx.
func NewRequest(typ CmdType, req wireMessage, ctx kvrpcpb.Context) *Request {
	return &Request{Type: typ, Req: req, Context: ctx}
}

// SetContext routes req to peer of region, keeping the other Context
// fields.
func SetContext(req *Request, region *metapb.Region, peer *metapb.Peer) error {
	if region == nil || peer == nil {
		return fmt.Errorf("SetContext: nil region or peer")
	}
	req.Context.RegionId = region.GetId()
	req.Context.RegionEpoch = region.GetRegionEpoch()
	req.Context.Peer = peer
	return nil
}

// CallRPC copies req.Context into the request message and sends it over
// client.
func CallRPC(ctx context.Context, client tikvpb.TikvClient, req *Request) (*Response, error) {
	f := reflect.ValueOf(req.Req).Elem().FieldByName("Context")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*kvrpcpb.Context]() {
		return nil, fmt.Errorf("CallRPC: %T has no Context field", req.Req)
	}
	rctx := req.Context
	f.Set(reflect.ValueOf(&rctx))
	var (
		resp any
		err  error
	)
	switch r := req.Req.(type) {
	case *kvrpcpb.GetRequest:
		resp, err = client.KvGet(ctx, r)
	case *kvrpcpb.BatchGetRequest:
		resp, err = client.KvBatchGet(ctx, r)
	case *kvrpcpb.ScanRequest:
		resp, err = client.KvScan(ctx, r)
	case *kvrpcpb.PrewriteRequest:
		resp, err = client.KvPrewrite(ctx, r)
	case *kvrpcpb.PessimisticLockRequest:
		resp, err = client.KvPessimisticLock(ctx, r)
	case *kvrpcpb.PessimisticRollbackRequest:
		resp, err = client.KVPessimisticRollback(ctx, r)
	case *kvrpcpb.CommitRequest:
		resp, err = client.KvCommit(ctx, r)
	case *kvrpcpb.CleanupRequest:
		resp, err = client.KvCleanup(ctx, r)
	case *kvrpcpb.BatchRollbackRequest:
		resp, err = client.KvBatchRollback(ctx, r)
	case *kvrpcpb.CheckTxnStatusRequest:
		resp, err = client.KvCheckTxnStatus(ctx, r)
	case *kvrpcpb.TxnHeartBeatRequest:
		resp, err = client.KvTxnHeartBeat(ctx, r)
	case *kvrpcpb.ScanLockRequest:
		resp, err = client.KvScanLock(ctx, r)
	case *kvrpcpb.ResolveLockRequest:
		resp, err = client.KvResolveLock(ctx, r)
	case *kvrpcpb.DeleteRangeRequest:
		resp, err = client.KvDeleteRange(ctx, r)
	case *kvrpcpb.RawGetRequest:
		resp, err = client.RawGet(ctx, r)
	case *kvrpcpb.RawBatchGetRequest:
		resp, err = client.RawBatchGet(ctx, r)
	case *kvrpcpb.RawPutRequest:
		resp, err = client.RawPut(ctx, r)
	case *kvrpcpb.RawBatchPutRequest:
		resp, err = client.RawBatchPut(ctx, r)
	case *kvrpcpb.RawDeleteRequest:
		resp, err = client.RawDelete(ctx, r)
	case *kvrpcpb.RawBatchDeleteRequest:
		resp, err = client.RawBatchDelete(ctx, r)
	case *kvrpcpb.RawDeleteRangeRequest:
		resp, err = client.RawDeleteRange(ctx, r)
	case *kvrpcpb.RawScanRequest:
		resp, err = client.RawScan(ctx, r)
	case *kvrpcpb.RawCASRequest:
		resp, err = client.RawCompareAndSwap(ctx, r)
	case *kvrpcpb.RawChecksumRequest:
		resp, err = client.RawChecksum(ctx, r)
	default:
		return nil, fmt.Errorf("CallRPC: %s: unsupported request %T", req.Type, req.Req)
	}
	if err != nil {
		return nil, err
	}
	return &Response{Resp: resp}, nil
}
