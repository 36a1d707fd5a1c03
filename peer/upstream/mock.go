package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"github.com/tikv/client-go/v2/testutils"
	"github.com/tikv/client-go/v2/tikvrpc"
	"google.golang.org/grpc"
)

// mockTimeout bounds one request to the in-process mock; it answers at
// once, so this only bounds a wedged call.
const mockTimeout = 10 * time.Second

// MockInfo is what the mock mode prints for each instance: where it
// listens and the region (the whole key space) and leader a request's
// Context must name.
type MockInfo struct {
	Addr     string `json:"addr"`
	RegionID uint64 `json:"region_id"`
	ConfVer  uint64 `json:"conf_ver"`
	Version  uint64 `json:"version"`
	PeerID   uint64 `json:"peer_id"`
	StoreID  uint64 `json:"store_id"`
}

// mockServer serves one client-go mock TiKV over gRPC. Each method wraps
// the request in a tikvrpc.Request with the Context the caller sent and
// hands it to the mock, as client-go's own tests do in process.
type mockServer struct {
	tikvpb.UnimplementedTikvServer
	client    *testutils.MockClient
	storeAddr string
}

// serveMocks starts one mock instance per line read from in (the line's
// content is ignored), answers each with its MockInfo as one JSON line on
// out, and serves them all until in ends or ctx is done. Instances live
// until then: a test that wants fresh stores asks for a new one.
func serveMocks(ctx context.Context, in io.Reader, out io.Writer) error {
	var servers []*grpc.Server
	var closers []func()
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
		for _, c := range closers {
			c()
		}
	}()
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	enc := json.NewEncoder(out)
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-lines:
			if !ok {
				return nil
			}
		}
		client, cluster, pdClient, err := testutils.NewMockTiKV("", nil)
		if err != nil {
			return err
		}
		closers = append(closers, func() { _ = client.Close(); pdClient.Close() })
		storeID, peerID, regionID := testutils.BootstrapWithSingleStore(cluster)
		region, _ := cluster.GetRegion(regionID)
		store := cluster.GetStore(storeID)
		if region == nil || store == nil {
			return errors.New("upstream: mock bootstrap left no region or store")
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := grpc.NewServer()
		tikvpb.RegisterTikvServer(srv, &mockServer{client: client, storeAddr: store.GetAddress()})
		servers = append(servers, srv)
		go func() { _ = srv.Serve(lis) }()
		info := MockInfo{
			Addr: lis.Addr().String(), RegionID: regionID,
			ConfVer: region.GetRegionEpoch().GetConfVer(), Version: region.GetRegionEpoch().GetVersion(),
			PeerID: peerID, StoreID: storeID,
		}
		if err := enc.Encode(info); err != nil {
			return err
		}
	}
}

type withContext interface{ GetContext() *kvrpcpb.Context }

// call sends in to the mock as a request of type typ and returns the
// mock's answer as R.
func call[R any](ctx context.Context, s *mockServer, typ tikvrpc.CmdType, in withContext) (R, error) {
	var zero R
	var rctx kvrpcpb.Context
	if c := in.GetContext(); c != nil {
		rctx = *c
	}
	resp, err := s.client.SendRequest(ctx, s.storeAddr, tikvrpc.NewRequest(typ, in, rctx), mockTimeout)
	if err != nil {
		return zero, err
	}
	r, ok := resp.Resp.(R)
	if !ok {
		return zero, fmt.Errorf("upstream: mock answered %s with %T", typ, resp.Resp)
	}
	return r, nil
}

func (s *mockServer) KvGet(ctx context.Context, in *kvrpcpb.GetRequest) (*kvrpcpb.GetResponse, error) {
	return call[*kvrpcpb.GetResponse](ctx, s, tikvrpc.CmdGet, in)
}

func (s *mockServer) KvScan(ctx context.Context, in *kvrpcpb.ScanRequest) (*kvrpcpb.ScanResponse, error) {
	return call[*kvrpcpb.ScanResponse](ctx, s, tikvrpc.CmdScan, in)
}

func (s *mockServer) KvBatchGet(ctx context.Context, in *kvrpcpb.BatchGetRequest) (*kvrpcpb.BatchGetResponse, error) {
	return call[*kvrpcpb.BatchGetResponse](ctx, s, tikvrpc.CmdBatchGet, in)
}

func (s *mockServer) KvPrewrite(ctx context.Context, in *kvrpcpb.PrewriteRequest) (*kvrpcpb.PrewriteResponse, error) {
	return call[*kvrpcpb.PrewriteResponse](ctx, s, tikvrpc.CmdPrewrite, in)
}

func (s *mockServer) KvPessimisticLock(ctx context.Context, in *kvrpcpb.PessimisticLockRequest) (*kvrpcpb.PessimisticLockResponse, error) {
	return call[*kvrpcpb.PessimisticLockResponse](ctx, s, tikvrpc.CmdPessimisticLock, in)
}

func (s *mockServer) KVPessimisticRollback(ctx context.Context, in *kvrpcpb.PessimisticRollbackRequest) (*kvrpcpb.PessimisticRollbackResponse, error) {
	return call[*kvrpcpb.PessimisticRollbackResponse](ctx, s, tikvrpc.CmdPessimisticRollback, in)
}

func (s *mockServer) KvCommit(ctx context.Context, in *kvrpcpb.CommitRequest) (*kvrpcpb.CommitResponse, error) {
	return call[*kvrpcpb.CommitResponse](ctx, s, tikvrpc.CmdCommit, in)
}

func (s *mockServer) KvCleanup(ctx context.Context, in *kvrpcpb.CleanupRequest) (*kvrpcpb.CleanupResponse, error) {
	return call[*kvrpcpb.CleanupResponse](ctx, s, tikvrpc.CmdCleanup, in)
}

func (s *mockServer) KvBatchRollback(ctx context.Context, in *kvrpcpb.BatchRollbackRequest) (*kvrpcpb.BatchRollbackResponse, error) {
	return call[*kvrpcpb.BatchRollbackResponse](ctx, s, tikvrpc.CmdBatchRollback, in)
}

func (s *mockServer) KvCheckTxnStatus(ctx context.Context, in *kvrpcpb.CheckTxnStatusRequest) (*kvrpcpb.CheckTxnStatusResponse, error) {
	return call[*kvrpcpb.CheckTxnStatusResponse](ctx, s, tikvrpc.CmdCheckTxnStatus, in)
}

func (s *mockServer) KvTxnHeartBeat(ctx context.Context, in *kvrpcpb.TxnHeartBeatRequest) (*kvrpcpb.TxnHeartBeatResponse, error) {
	return call[*kvrpcpb.TxnHeartBeatResponse](ctx, s, tikvrpc.CmdTxnHeartBeat, in)
}

func (s *mockServer) KvScanLock(ctx context.Context, in *kvrpcpb.ScanLockRequest) (*kvrpcpb.ScanLockResponse, error) {
	return call[*kvrpcpb.ScanLockResponse](ctx, s, tikvrpc.CmdScanLock, in)
}

func (s *mockServer) KvResolveLock(ctx context.Context, in *kvrpcpb.ResolveLockRequest) (*kvrpcpb.ResolveLockResponse, error) {
	return call[*kvrpcpb.ResolveLockResponse](ctx, s, tikvrpc.CmdResolveLock, in)
}

func (s *mockServer) KvDeleteRange(ctx context.Context, in *kvrpcpb.DeleteRangeRequest) (*kvrpcpb.DeleteRangeResponse, error) {
	return call[*kvrpcpb.DeleteRangeResponse](ctx, s, tikvrpc.CmdDeleteRange, in)
}

func (s *mockServer) RawGet(ctx context.Context, in *kvrpcpb.RawGetRequest) (*kvrpcpb.RawGetResponse, error) {
	return call[*kvrpcpb.RawGetResponse](ctx, s, tikvrpc.CmdRawGet, in)
}

func (s *mockServer) RawBatchGet(ctx context.Context, in *kvrpcpb.RawBatchGetRequest) (*kvrpcpb.RawBatchGetResponse, error) {
	return call[*kvrpcpb.RawBatchGetResponse](ctx, s, tikvrpc.CmdRawBatchGet, in)
}

func (s *mockServer) RawPut(ctx context.Context, in *kvrpcpb.RawPutRequest) (*kvrpcpb.RawPutResponse, error) {
	return call[*kvrpcpb.RawPutResponse](ctx, s, tikvrpc.CmdRawPut, in)
}

func (s *mockServer) RawBatchPut(ctx context.Context, in *kvrpcpb.RawBatchPutRequest) (*kvrpcpb.RawBatchPutResponse, error) {
	return call[*kvrpcpb.RawBatchPutResponse](ctx, s, tikvrpc.CmdRawBatchPut, in)
}

func (s *mockServer) RawDelete(ctx context.Context, in *kvrpcpb.RawDeleteRequest) (*kvrpcpb.RawDeleteResponse, error) {
	return call[*kvrpcpb.RawDeleteResponse](ctx, s, tikvrpc.CmdRawDelete, in)
}

func (s *mockServer) RawBatchDelete(ctx context.Context, in *kvrpcpb.RawBatchDeleteRequest) (*kvrpcpb.RawBatchDeleteResponse, error) {
	return call[*kvrpcpb.RawBatchDeleteResponse](ctx, s, tikvrpc.CmdRawBatchDelete, in)
}

func (s *mockServer) RawScan(ctx context.Context, in *kvrpcpb.RawScanRequest) (*kvrpcpb.RawScanResponse, error) {
	return call[*kvrpcpb.RawScanResponse](ctx, s, tikvrpc.CmdRawScan, in)
}

func (s *mockServer) RawDeleteRange(ctx context.Context, in *kvrpcpb.RawDeleteRangeRequest) (*kvrpcpb.RawDeleteRangeResponse, error) {
	return call[*kvrpcpb.RawDeleteRangeResponse](ctx, s, tikvrpc.CmdRawDeleteRange, in)
}

func (s *mockServer) RawCompareAndSwap(ctx context.Context, in *kvrpcpb.RawCASRequest) (*kvrpcpb.RawCASResponse, error) {
	return call[*kvrpcpb.RawCASResponse](ctx, s, tikvrpc.CmdRawCompareAndSwap, in)
}

func (s *mockServer) RawChecksum(ctx context.Context, in *kvrpcpb.RawChecksumRequest) (*kvrpcpb.RawChecksumResponse, error) {
	return call[*kvrpcpb.RawChecksumResponse](ctx, s, tikvrpc.CmdRawChecksum, in)
}
