package tikvsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	msp "github.com/pingcap/kvproto/pkg/meta_storagepb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	rmpb "github.com/pingcap/kvproto/pkg/resource_manager"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// Limits and defaults of [Options].
const (
	// MaxPDs is the largest number of PD members a cluster can have.
	MaxPDs = 3
	// DefaultStores is the number of stores when Options.Stores is 0.
	DefaultStores = 3
	// DefaultReplicas is the number of peers per region when
	// Options.Replicas is 0 (capped at the number of stores).
	DefaultReplicas = 3
	// DefaultClusterID is the cluster id when Options.ClusterID is 0.
	DefaultClusterID uint64 = 7_000_000_000_000_000_001
)

// ErrInvalidOptions wraps every validation failure of [Start].
var ErrInvalidOptions = errors.New("tikvsim: invalid options")

// Options configures [Start]. The zero value is a valid configuration: one PD
// member, three stores, one region replicated three times, API V1 storage.
type Options struct {
	// PDs is the number of PD members, 1 (default) to MaxPDs. Member 0
	// starts as the leader.
	PDs int
	// Stores is the number of TiKV stores (default DefaultStores). Store ids
	// are 1..Stores.
	Stores int
	// Replicas is the number of peers per region (default DefaultReplicas,
	// capped at Stores). Peers are placed round-robin; the first is leader.
	Replicas int
	// SplitKeys are the initial region boundaries, as region keys: encode
	// transactional and API V2 keys with [EncodeKey]; API V1 raw keys are
	// used as they are.
	SplitKeys [][]byte
	// APIVersion is the storage api-version of every store (TiKV's
	// storage.api-version): V1 (default), V1TTL or V2.
	APIVersion kvrpcpb.APIVersion
	// Keyspaces are created at start, with ids 1, 2, ... in order, and their
	// region boundaries split. They require APIVersion V2. The DEFAULT
	// keyspace (id 0) always exists, under every API version, as PD
	// creates it at bootstrap.
	Keyspaces []string
	// KeyspaceLevelGC names keyspaces (from Keyspaces, or DefaultKeyspace)
	// created with gc_management_type "keyspace_level": each has a GC
	// state of its own in PD; the others use the null keyspace's (unified
	// GC). It requires APIVersion V2.
	KeyspaceLevelGC []string
	// ClusterID is the cluster id (default DefaultClusterID).
	ClusterID uint64
	// Clock is the wall clock used by TSO, TTLs and GC barriers (default
	// time.Now).
	Clock func() time.Time
	// ListenHost is the host every server listens on (default 127.0.0.1).
	ListenHost string
	// AdvertiseHost is the host put into addresses reported to clients
	// (default ListenHost).
	AdvertiseHost string
	// PDPorts and StorePorts fix listening ports by index; a missing or
	// zero entry means an ephemeral port.
	PDPorts, StorePorts []int
	// Logger receives state transitions (default: discarded).
	Logger *slog.Logger
}

// StoreInfo identifies one store.
type StoreInfo struct {
	ID   uint64
	Addr string
}

// Cluster is a running simulated cluster. All its methods are safe for
// concurrent use.
type Cluster struct {
	opts      Options
	clusterID uint64
	now       func() time.Time
	log       *slog.Logger
	engine    *mvcc.Engine
	startTime time.Time

	lastID atomic.Uint64

	mu       sync.RWMutex
	regions  regionTable
	pdLeader int // index into pds; -1 when none is running

	stores []*store
	pds    []*pdMember

	tso       *tsoAllocator
	gc        *gcState            // the null keyspace's (unified) GC state
	ksGC      map[uint32]*gcState // keyspace-level GC states; fixed at Start
	etcd      *etcdStore
	pdExtra   *pdExtraState
	resources resourceGroups
	keyspaces *keyspaceTable
	faults    faultTable
	pdFaults  pdFaultTable
	hooks     atomic.Pointer[[]*requestHook]
	rpcHooks  hookList[func(RPC)]

	closeOnce sync.Once
	closing   chan struct{}
}

// Start runs a cluster on the configured host (ephemeral ports by default)
// and returns once every server accepts connections. ctx bounds only the
// start-up; Close stops everything.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := normalise(&opts); err != nil {
		return nil, err
	}
	c := &Cluster{
		opts:      opts,
		clusterID: opts.ClusterID,
		now:       opts.Clock,
		log:       opts.Logger,
		closing:   make(chan struct{}),
		regions:   regionTable{byID: map[uint64]*region{}},
	}
	c.startTime = c.now()
	c.engine = mvcc.New(mvcc.Options{Now: opts.Clock})
	c.tso = newTSOAllocator(opts.Clock)
	c.gc = newGCState(nullKeyspaceID)
	c.ksGC = map[uint32]*gcState{}
	c.etcd = newEtcdStore()
	c.pdExtra = newPDExtraState()
	c.keyspaces = newKeyspaceTable()
	c.lastID.Store(1000)

	for i := range opts.Stores {
		c.stores = append(c.stores, &store{c: c, id: uint64(i + 1), txnStatus: newTxnStatusCache()})
	}
	splits := slices.Clone(opts.SplitKeys)
	// PD creates keyspace DEFAULT (id 0) at bootstrap whatever the storage
	// API version; only API V2 keys carry keyspace prefixes, so only there
	// do keyspaces get region boundaries.
	names := append([]string{defaultKeyspaceName}, opts.Keyspaces...)
	for i, name := range names {
		m, err := c.keyspaces.create(name, uint32(i), c.now())
		if err != nil {
			return nil, err
		}
		if slices.Contains(opts.KeyspaceLevelGC, name) {
			m.Config["gc_management_type"] = "keyspace_level"
			c.ksGC[uint32(i)] = newGCState(uint32(i))
		}
		if opts.APIVersion == kvrpcpb.APIVersion_V2 {
			splits = append(splits, keyspaceBoundaries(uint32(i))...)
		}
	}
	c.bootstrapRegions(splits)

	for i := range opts.PDs {
		c.pds = append(c.pds, &pdMember{c: c, idx: i, id: uint64(i + 1), name: "pd-" + strconv.Itoa(i)})
	}
	for i, s := range c.stores {
		s.ep = &endpoint{
			listen:   net.JoinHostPort(opts.ListenHost, strconv.Itoa(portAt(opts.StorePorts, i))),
			register: func(g *grpc.Server) { tikvpb.RegisterTikvServer(g, &tikvService{s: s}) },
			opts: append([]grpc.ServerOption{
				grpc.ChainUnaryInterceptor(s.unaryInterceptor),
				grpc.ChainStreamInterceptor(s.streamInterceptor),
			}, storeWindows()...),
		}
		s.ep.opts = append(c.observeOptions(ServerStore, s.id), s.ep.opts...)
		if err := s.ep.start(); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	for i, m := range c.pds {
		m.ep = &endpoint{
			listen: net.JoinHostPort(opts.ListenHost, strconv.Itoa(portAt(opts.PDPorts, i))),
			register: func(g *grpc.Server) {
				pdpb.RegisterPDServer(g, &pdService{m: m})
				keyspacepb.RegisterKeyspaceServer(g, &keyspaceService{m: m})
				rmpb.RegisterResourceManagerServer(g, &resourceService{m: m})
				msp.RegisterMetaStorageServer(g, &metaStorageService{m: m})
				registerEtcd(g, m)
			},
			opts: []grpc.ServerOption{
				grpc.ChainUnaryInterceptor(m.unaryInterceptor),
				grpc.ChainStreamInterceptor(m.streamInterceptor),
			},
		}
		m.ep.opts = append(c.observeOptions(ServerPD, uint64(m.idx)), m.ep.opts...)
		if err := m.ep.start(); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	c.pdLeader = 0
	return c, nil
}

func portAt(ports []int, i int) int {
	if i < len(ports) {
		return ports[i]
	}
	return 0
}

func normalise(o *Options) error {
	if o.PDs == 0 {
		o.PDs = 1
	}
	if o.PDs < 0 || o.PDs > MaxPDs {
		return fmt.Errorf("%w: PDs must be 1..%d, got %d", ErrInvalidOptions, MaxPDs, o.PDs)
	}
	if o.Stores == 0 {
		o.Stores = DefaultStores
	}
	if o.Stores < 0 {
		return fmt.Errorf("%w: Stores must be positive, got %d", ErrInvalidOptions, o.Stores)
	}
	if o.Replicas == 0 {
		o.Replicas = DefaultReplicas
	}
	if o.Replicas < 0 {
		return fmt.Errorf("%w: Replicas must be positive, got %d", ErrInvalidOptions, o.Replicas)
	}
	o.Replicas = min(o.Replicas, o.Stores)
	switch o.APIVersion {
	case kvrpcpb.APIVersion_V1, kvrpcpb.APIVersion_V1TTL, kvrpcpb.APIVersion_V2:
	default:
		return fmt.Errorf("%w: unsupported APIVersion %v", ErrInvalidOptions, o.APIVersion)
	}
	if len(o.Keyspaces) > 0 && o.APIVersion != kvrpcpb.APIVersion_V2 {
		return fmt.Errorf("%w: Keyspaces require APIVersion V2", ErrInvalidOptions)
	}
	if len(o.KeyspaceLevelGC) > 0 && o.APIVersion != kvrpcpb.APIVersion_V2 {
		return fmt.Errorf("%w: KeyspaceLevelGC requires APIVersion V2", ErrInvalidOptions)
	}
	for _, name := range o.KeyspaceLevelGC {
		if name != defaultKeyspaceName && !slices.Contains(o.Keyspaces, name) {
			return fmt.Errorf("%w: KeyspaceLevelGC names %q, which is neither DEFAULT nor in Keyspaces", ErrInvalidOptions, name)
		}
	}
	if len(o.PDPorts) > o.PDs || len(o.StorePorts) > o.Stores {
		return fmt.Errorf("%w: more fixed ports than servers", ErrInvalidOptions)
	}
	if o.ClusterID == 0 {
		o.ClusterID = DefaultClusterID
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.ListenHost == "" {
		o.ListenHost = "127.0.0.1"
	}
	if o.AdvertiseHost == "" {
		o.AdvertiseHost = o.ListenHost
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// bootstrapRegions creates the initial regions at the given region keys.
func (c *Cluster) bootstrapRegions(splits [][]byte) {
	keys := make([][]byte, 0, len(splits))
	for _, k := range splits {
		if len(k) > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	var start []byte
	for i := 0; i <= len(keys); i++ {
		var end []byte
		if i < len(keys) {
			end = keys[i]
		}
		meta := &metapb.Region{
			Id:          c.allocID(),
			StartKey:    bytes.Clone(start),
			EndKey:      bytes.Clone(end),
			RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 1},
		}
		for j := range c.opts.Replicas {
			st := c.stores[(i+j)%len(c.stores)]
			meta.Peers = append(meta.Peers, &metapb.Peer{Id: c.allocID(), StoreId: st.id})
		}
		r := &region{meta: meta, leader: meta.Peers[0].StoreId, term: 1}
		c.regions.sorted = append(c.regions.sorted, r)
		c.regions.byID[meta.Id] = r
		start = end
	}
}

func (c *Cluster) allocID() uint64 { return c.lastID.Add(1) }

// Close stops every server and background goroutine and waits for them.
// It is idempotent.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		for _, m := range c.pds {
			if m.ep != nil {
				m.ep.shutdown()
			}
		}
		for _, s := range c.stores {
			if s.ep != nil {
				s.ep.shutdown()
			}
		}
		c.engine.Close()
	})
	return nil
}

// ClusterID returns the cluster id every PD response carries.
func (c *Cluster) ClusterID() uint64 { return c.clusterID }

// PDAddrs returns the host:port of every PD member, in member order.
func (c *Cluster) PDAddrs() []string {
	out := make([]string, len(c.pds))
	for i, m := range c.pds {
		out[i] = c.advertise(m.ep.address())
	}
	return out
}

// StoreAddrs returns the host:port of every store, in store id order.
func (c *Cluster) StoreAddrs() []string {
	out := make([]string, len(c.stores))
	for i, s := range c.stores {
		out[i] = c.advertise(s.ep.address())
	}
	return out
}

// Stores returns the id and address of every store.
func (c *Cluster) Stores() []StoreInfo {
	out := make([]StoreInfo, len(c.stores))
	for i, s := range c.stores {
		out[i] = StoreInfo{ID: s.id, Addr: c.advertise(s.ep.address())}
	}
	return out
}

// Regions returns every region in key order.
func (c *Cluster) Regions() []RegionInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]RegionInfo, len(c.regions.sorted))
	for i, r := range c.regions.sorted {
		out[i] = r.info()
	}
	return out
}

// Region returns the region with the given id.
func (c *Cluster) Region(id uint64) (RegionInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.regions.byID[id]
	if !ok {
		return RegionInfo{}, fmt.Errorf("%w: %d", ErrRegionNotFound, id)
	}
	return r.info(), nil
}

// RegionByKey returns the region containing the region key k.
func (c *Cluster) RegionByKey(k []byte) (RegionInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, _ := c.regions.byKey(k)
	if r == nil {
		return RegionInfo{}, fmt.Errorf("%w: key %x", ErrRegionNotFound, k)
	}
	return r.info(), nil
}

func (c *Cluster) advertise(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(c.opts.AdvertiseHost, port)
}

func (c *Cluster) store(id uint64) (*store, error) {
	if id == 0 || id > uint64(len(c.stores)) {
		return nil, fmt.Errorf("%w: %d", ErrStoreNotFound, id)
	}
	return c.stores[id-1], nil
}

func (c *Cluster) storeMeta(s *store) *metapb.Store {
	st := &metapb.Store{
		Id:             s.id,
		Address:        c.advertise(s.ep.address()),
		State:          metapb.StoreState_Up,
		NodeState:      metapb.NodeState_Serving,
		Version:        "9.0.0",
		StartTimestamp: c.startTime.Unix(),
		LastHeartbeat:  c.now().UnixNano(),
	}
	st.PeerAddress = st.Address
	return st
}
