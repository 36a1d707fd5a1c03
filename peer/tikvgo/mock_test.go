package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The newest client-go's mock TiKV cannot be linked here (its kvproto is
// older than tikvgo's), so it runs in the upstream worker (peer/upstream,
// mode -mock), which serves each instance over gRPC; this file builds that
// worker once per test binary, starts it once, and asks it for a fresh
// instance per target.

// mockInfo is one instance as the upstream worker describes it.
type mockInfo struct {
	Addr     string `json:"addr"`
	RegionID uint64 `json:"region_id"`
	ConfVer  uint64 `json:"conf_ver"`
	Version  uint64 `json:"version"`
	PeerID   uint64 `json:"peer_id"`
	StoreID  uint64 `json:"store_id"`
}

// binDir holds binaries built by the tests; TestMain removes it.
var binDir string

// mockServer is the upstream worker in mock mode, shared by every test.
var mockServer struct {
	once sync.Once
	err  error

	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	done chan struct{}
}

// buildModule builds the module in dir (relative to this one) outside
// go.work into binDir/name.
func buildModule(dir, name string) (string, error) {
	out := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %v\n%s", dir, err, b)
	}
	return out, nil
}

func startMockServer() error {
	bin, err := upstreamBinary()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "-mock")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	mockServer.cmd, mockServer.in, mockServer.out = cmd, in, bufio.NewReader(out)
	mockServer.done = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(mockServer.done)
	}()
	return nil
}

// stopMockServer ends the worker (it exits when its stdin closes) and
// waits for it.
func stopMockServer() {
	mockServer.mu.Lock()
	defer mockServer.mu.Unlock()
	if mockServer.cmd == nil {
		return
	}
	_ = mockServer.in.Close()
	<-mockServer.done
	mockServer.cmd = nil
}

// newMockInstance asks the worker for a fresh mock TiKV.
func newMockInstance() (mockInfo, error) {
	mockServer.once.Do(func() { mockServer.err = startMockServer() })
	if mockServer.err != nil {
		return mockInfo{}, mockServer.err
	}
	mockServer.mu.Lock()
	defer mockServer.mu.Unlock()
	if mockServer.cmd == nil {
		return mockInfo{}, fmt.Errorf("mock server stopped")
	}
	if _, err := io.WriteString(mockServer.in, "new\n"); err != nil {
		return mockInfo{}, err
	}
	line, err := mockServer.out.ReadBytes('\n')
	if err != nil {
		return mockInfo{}, fmt.Errorf("mock server: %w", err)
	}
	var info mockInfo
	if err := json.Unmarshal(line, &info); err != nil {
		return mockInfo{}, fmt.Errorf("mock server said %q: %w", line, err)
	}
	return info, nil
}

// MockTarget is one instance of the newest client-go's mock TiKV
// (testutils.NewMockTiKV: one store, one region over the whole key
// space), reached over gRPC.
type MockTarget struct {
	conn   *grpc.ClientConn
	client tikvpb.TikvClient
	region *metapb.Region
	peer   *metapb.Peer
}

// NewMockTarget starts a fresh mock instance and connects to it.
func NewMockTarget() (*MockTarget, error) {
	info, err := newMockInstance()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(info.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &MockTarget{
		conn:   conn,
		client: tikvpb.NewTikvClient(conn),
		region: &metapb.Region{Id: info.RegionID, RegionEpoch: &metapb.RegionEpoch{ConfVer: info.ConfVer, Version: info.Version}},
		peer:   &metapb.Peer{Id: info.PeerID, StoreId: info.StoreID},
	}, nil
}

// Name implements Target.
func (m *MockTarget) Name() string { return "mock" }

// Send implements Target: every key is in the one region.
func (m *MockTarget) Send(ctx context.Context, req *Request, _ []byte, _ KeyMode) (*Response, error) {
	if err := SetContext(req, m.region, m.peer); err != nil {
		return nil, err
	}
	return CallRPC(ctx, m.client, req)
}

// Close implements Target. The instance itself lives until the worker
// exits.
func (m *MockTarget) Close() error { return m.conn.Close() }

func newMock(t testing.TB) *MockTarget {
	t.Helper()
	mt, err := NewMockTarget()
	if err != nil {
		t.Fatalf("NewMockTarget: %v", err)
	}
	t.Cleanup(func() { _ = mt.Close() })
	return mt
}
