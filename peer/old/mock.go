package peer

import (
	"context"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/tikv/client-go/v2/testutils"
	"github.com/tikv/client-go/v2/tikvrpc"
	pd "github.com/tikv/pd/client"
)

// mockTimeout is the per-request timeout handed to mocktikv; it answers in
// process, so this only bounds a wedged call.
const mockTimeout = 10 * time.Second

// MockTarget is client-go v2.0.4's in-process mock TiKV (mocktikv) with one
// store and one region covering the whole key space.
type MockTarget struct {
	client   *testutils.MockClient
	cluster  *testutils.MockCluster
	pdClient pd.Client
	storeID  uint64
	regionID uint64
}

// NewMockTarget creates an in-memory mocktikv cluster bootstrapped with one
// store and one region, as client-go's own unit tests do.
func NewMockTarget() (*MockTarget, error) {
	client, cluster, pdClient, err := testutils.NewMockTiKV("", nil)
	if err != nil {
		return nil, err
	}
	storeID, _, regionID := testutils.BootstrapWithSingleStore(cluster)
	return &MockTarget{client: client, cluster: cluster, pdClient: pdClient, storeID: storeID, regionID: regionID}, nil
}

// Name implements Target.
func (m *MockTarget) Name() string { return "mock" }

// Cluster returns the mock cluster, for tests that split regions or move
// leaders.
func (m *MockTarget) Cluster() *testutils.MockCluster { return m.cluster }

// Client returns the mock RPC client, which implements client-go's
// tikv.Client; use it with PDClient to build a client-go KVStore on the mock.
func (m *MockTarget) Client() *testutils.MockClient { return m.client }

// PDClient returns the mock PD client.
func (m *MockTarget) PDClient() pd.Client { return m.pdClient }

// Send implements Target.
func (m *MockTarget) Send(ctx context.Context, req *tikvrpc.Request, key []byte, mode KeyMode) (*tikvrpc.Response, error) {
	lookup := key
	if mode == TxnKey {
		lookup = EncodeKey(key)
	}
	region, leader, _ := m.cluster.GetRegionByKey(lookup)
	if region == nil || leader == nil {
		return nil, &RouteError{Target: m.Name(), Key: key, Err: ErrNoRegion}
	}
	store := m.cluster.GetStore(leader.GetStoreId())
	if store == nil {
		return nil, &RouteError{Target: m.Name(), Key: key, Err: ErrNoRegion}
	}
	if err := tikvrpc.SetContext(req, region, leader); err != nil {
		return nil, err
	}
	return m.client.SendRequest(ctx, store.GetAddress(), req, mockTimeout)
}

// Region returns the metadata of the region with the given id and its
// leader's peer id, as the mock cluster holds them.
func (m *MockTarget) Region(id uint64) (*metapb.Region, uint64) { return m.cluster.GetRegion(id) }

// Close implements Target.
func (m *MockTarget) Close() error {
	err := m.client.Close()
	m.pdClient.Close()
	return err
}
