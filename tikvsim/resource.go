package tikvsim

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gogo/protobuf/proto"
	rmpb "github.com/pingcap/kvproto/pkg/resource_manager"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PD's resource-manager limits and the default group's settings.
const (
	defaultResourceGroup  = "default"
	maxGroupNameLength    = 32
	maxGroupPriority      = 16
	middleGroupPriority   = 8
	unlimitedFillRate     = math.MaxInt32
	unlimitedBurstLimit   = -1
	nullKeyspaceID        = math.MaxUint32
	resourceGroupNotExist = "[PD:resourcemanager:ErrGroupNotExists]the %s resource group does not exist"
)

// resourceGroup is one group and its RU token bucket.
type resourceGroup struct {
	meta   *rmpb.ResourceGroup
	tokens float64   // RU in the bucket
	last   time.Time // tokens are filled up to here; may lie ahead after a trickle grant
}

// resourceGroups is the resource manager's state: groups per keyspace
// (requests without a keyspace use the null keyspace), each keyspace with
// its own "default" group, created on first use as PD creates it.
type resourceGroups struct {
	mu     sync.Mutex
	spaces map[uint32]map[string]*resourceGroup
}

func defaultGroupMeta() *rmpb.ResourceGroup {
	return &rmpb.ResourceGroup{
		Name: defaultResourceGroup,
		Mode: rmpb.GroupMode_RUMode,
		RUSettings: &rmpb.GroupRequestUnitSettings{RU: &rmpb.TokenBucket{
			Settings: &rmpb.TokenLimitSettings{FillRate: unlimitedFillRate, BurstLimit: unlimitedBurstLimit},
		}},
		Priority: middleGroupPriority,
	}
}

func keyspaceOf(v *rmpb.KeyspaceIDValue) uint32 {
	if v == nil {
		return nullKeyspaceID
	}
	return v.GetValue()
}

// space returns a keyspace's groups, creating the default group. Callers
// hold g.mu.
func (g *resourceGroups) space(id uint32, now time.Time) map[string]*resourceGroup {
	if g.spaces == nil {
		g.spaces = map[uint32]map[string]*resourceGroup{}
	}
	sp := g.spaces[id]
	if sp == nil {
		sp = map[string]*resourceGroup{defaultResourceGroup: {meta: defaultGroupMeta(), last: now}}
		g.spaces[id] = sp
	}
	return sp
}

// grant takes RU from the bucket. A bucket with an unlimited rate or burst
// grants everything; otherwise it grants what it holds and, for a larger
// demand, what it will fill within the client's target period, telling the
// client to spread that over the trickle time.
func (rg *resourceGroup) grant(now time.Time, want float64, periodMs uint64) (granted float64, trickleMs int64) {
	s := rg.meta.GetRUSettings().GetRU().GetSettings()
	fill := float64(s.GetFillRate())
	if s.GetBurstLimit() < 0 || s.GetFillRate() >= unlimitedFillRate {
		return want, 0
	}
	capacity := fill
	if s.GetBurstLimit() > 0 {
		capacity = float64(s.GetBurstLimit())
	}
	if now.After(rg.last) {
		rg.tokens = min(rg.tokens+fill*now.Sub(rg.last).Seconds(), capacity)
		rg.last = now
	}
	if rg.tokens >= want {
		rg.tokens -= want
		return want, 0
	}
	if fill <= 0 {
		granted, rg.tokens = rg.tokens, 0
		return granted, 0
	}
	extra := min(want-rg.tokens, fill*float64(periodMs)/1000)
	granted, rg.tokens = rg.tokens+extra, 0
	trickle := time.Duration(extra / fill * float64(time.Second))
	rg.last = rg.last.Add(trickle) // the trickled tokens are the future's fill
	return granted, trickle.Milliseconds()
}

// resourceService implements the resource manager's gRPC service, which
// PD serves on its own address.
type resourceService struct {
	rmpb.UnimplementedResourceManagerServer
	m *pdMember
}

// checkServing is PD's rule: only the leader runs the resource manager.
func (s *resourceService) checkServing(method string) error {
	s.m.c.observePD(s.m.idx, method)
	if !s.m.isLeader() {
		return status.Error(codes.Unavailable, "not leader")
	}
	return nil
}

func validateGroup(g *rmpb.ResourceGroup) error {
	if len(g.GetName()) == 0 || len(g.GetName()) > maxGroupNameLength {
		return status.Error(codes.Unknown, "[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group name")
	}
	if g.GetPriority() > maxGroupPriority {
		return status.Error(codes.Unknown, "[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group priority")
	}
	return nil
}

func groupOut(rg *resourceGroup, keyspace uint32, withStats bool) *rmpb.ResourceGroup {
	out := proto.Clone(rg.meta).(*rmpb.ResourceGroup)
	out.KeyspaceId = &rmpb.KeyspaceIDValue{Keyspace: &rmpb.KeyspaceIDValue_Value{Value: keyspace}}
	if withStats {
		out.RUStats = &rmpb.Consumption{}
	}
	return out
}

// ListResourceGroups lists a keyspace's groups by name.
func (s *resourceService) ListResourceGroups(ctx context.Context, req *rmpb.ListResourceGroupsRequest) (*rmpb.ListResourceGroupsResponse, error) {
	if err := s.checkServing("ListResourceGroups"); err != nil {
		return nil, err
	}
	c := s.m.c
	ks := keyspaceOf(req.GetKeyspaceId())
	g := &c.resources
	g.mu.Lock()
	defer g.mu.Unlock()
	sp := g.space(ks, c.now())
	names := make([]string, 0, len(sp))
	for n := range sp {
		names = append(names, n)
	}
	slices.Sort(names)
	resp := &rmpb.ListResourceGroupsResponse{}
	for _, n := range names {
		resp.Groups = append(resp.Groups, groupOut(sp[n], ks, req.GetWithRuStats()))
	}
	return resp, nil
}

// GetResourceGroup returns one group; a missing one is a gRPC error, as in
// PD.
func (s *resourceService) GetResourceGroup(ctx context.Context, req *rmpb.GetResourceGroupRequest) (*rmpb.GetResourceGroupResponse, error) {
	if err := s.checkServing("GetResourceGroup"); err != nil {
		return nil, err
	}
	c := s.m.c
	ks := keyspaceOf(req.GetKeyspaceId())
	g := &c.resources
	g.mu.Lock()
	defer g.mu.Unlock()
	rg := g.space(ks, c.now())[req.GetResourceGroupName()]
	if rg == nil {
		return nil, status.Errorf(codes.Unknown, resourceGroupNotExist, req.GetResourceGroupName())
	}
	return &rmpb.GetResourceGroupResponse{Group: groupOut(rg, ks, req.GetWithRuStats())}, nil
}

// AddResourceGroup creates a group, or replaces one of the same name as PD
// does; its bucket starts empty.
func (s *resourceService) AddResourceGroup(ctx context.Context, req *rmpb.PutResourceGroupRequest) (*rmpb.PutResourceGroupResponse, error) {
	if err := s.checkServing("AddResourceGroup"); err != nil {
		return nil, err
	}
	if err := validateGroup(req.GetGroup()); err != nil {
		return nil, err
	}
	c := s.m.c
	meta := proto.Clone(req.GetGroup()).(*rmpb.ResourceGroup)
	ks := keyspaceOf(meta.GetKeyspaceId())
	meta.KeyspaceId, meta.RUStats = nil, nil
	g := &c.resources
	g.mu.Lock()
	defer g.mu.Unlock()
	now := c.now()
	g.space(ks, now)[meta.GetName()] = &resourceGroup{meta: meta, last: now}
	return &rmpb.PutResourceGroupResponse{Body: "Success!"}, nil
}

// ModifyResourceGroup patches an existing group's priority and the
// settings the request carries.
func (s *resourceService) ModifyResourceGroup(ctx context.Context, req *rmpb.PutResourceGroupRequest) (*rmpb.PutResourceGroupResponse, error) {
	if err := s.checkServing("ModifyResourceGroup"); err != nil {
		return nil, err
	}
	in := req.GetGroup()
	if in.GetName() == "" {
		return nil, status.Error(codes.Unknown, "[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group name")
	}
	c := s.m.c
	g := &c.resources
	g.mu.Lock()
	defer g.mu.Unlock()
	rg := g.space(keyspaceOf(in.GetKeyspaceId()), c.now())[in.GetName()]
	if rg == nil {
		return nil, status.Errorf(codes.Unknown, resourceGroupNotExist, in.GetName())
	}
	if in.GetPriority() > maxGroupPriority {
		return nil, status.Error(codes.Unknown, "[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group priority")
	}
	rg.meta.Priority = in.GetPriority()
	if in.GetRUSettings() != nil {
		rg.meta.RUSettings = proto.Clone(in.GetRUSettings()).(*rmpb.GroupRequestUnitSettings)
	}
	if in.GetRunawaySettings() != nil {
		rg.meta.RunawaySettings = proto.Clone(in.GetRunawaySettings()).(*rmpb.RunawaySettings)
	}
	if in.GetBackgroundSettings() != nil {
		rg.meta.BackgroundSettings = proto.Clone(in.GetBackgroundSettings()).(*rmpb.BackgroundSettings)
	}
	return &rmpb.PutResourceGroupResponse{Body: "Success!"}, nil
}

// DeleteResourceGroup removes a group; "default" is reserved.
func (s *resourceService) DeleteResourceGroup(ctx context.Context, req *rmpb.DeleteResourceGroupRequest) (*rmpb.DeleteResourceGroupResponse, error) {
	if err := s.checkServing("DeleteResourceGroup"); err != nil {
		return nil, err
	}
	name := req.GetResourceGroupName()
	if name == defaultResourceGroup {
		return nil, status.Error(codes.Unknown, "[PD:resourcemanager:ErrDeleteReservedGroup]cannot delete reserved group")
	}
	c := s.m.c
	g := &c.resources
	g.mu.Lock()
	defer g.mu.Unlock()
	sp := g.space(keyspaceOf(req.GetKeyspaceId()), c.now())
	if sp[name] == nil {
		return nil, status.Errorf(codes.Unknown, resourceGroupNotExist, name)
	}
	delete(sp, name)
	return &rmpb.DeleteResourceGroupResponse{Body: "Success!"}, nil
}

// AcquireTokenBuckets answers each batch of token requests with one
// response: RU grants for every RU-mode group found; unknown groups and
// background requests get no entry, as in PD.
func (s *resourceService) AcquireTokenBuckets(stream rmpb.ResourceManager_AcquireTokenBucketsServer) error {
	c := s.m.c
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.checkServing("AcquireTokenBuckets"); err != nil {
			return err
		}
		resp := &rmpb.TokenBucketsResponse{}
		g := &c.resources
		g.mu.Lock()
		now := c.now()
		for _, r := range req.GetRequests() {
			ks := keyspaceOf(r.GetKeyspaceId())
			rg := g.space(ks, now)[r.GetResourceGroupName()]
			if rg == nil || r.GetIsBackground() || rg.meta.GetMode() != rmpb.GroupMode_RUMode {
				continue
			}
			out := &rmpb.TokenBucketResponse{
				ResourceGroupName: rg.meta.GetName(),
				KeyspaceId:        &rmpb.KeyspaceIDValue{Keyspace: &rmpb.KeyspaceIDValue_Value{Value: ks}},
			}
			for _, item := range r.GetRuItems().GetRequestRU() {
				if item.GetType() != rmpb.RequestUnitType_RU {
					continue
				}
				granted, trickle := rg.grant(now, item.GetValue(), req.GetTargetRequestPeriodMs())
				settings := proto.Clone(rg.meta.GetRUSettings().GetRU().GetSettings()).(*rmpb.TokenLimitSettings)
				out.GrantedRUTokens = append(out.GrantedRUTokens, &rmpb.GrantedRUTokenBucket{
					Type:          rmpb.RequestUnitType_RU,
					GrantedTokens: &rmpb.TokenBucket{Settings: settings, Tokens: granted},
					TrickleTimeMs: trickle,
				})
			}
			resp.Responses = append(resp.Responses, out)
		}
		g.mu.Unlock()
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
