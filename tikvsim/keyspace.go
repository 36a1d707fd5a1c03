package tikvsim

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/pdpb"
)

// DefaultKeyspace is the name of the keyspace PD creates at bootstrap, with
// id 0; an API V2 client without a keyspace option uses it.
const DefaultKeyspace = defaultKeyspaceName

const (
	defaultKeyspaceName = "DEFAULT"
	// keyspace key prefixes of API V2 (§7.1 of the semantics reference).
	rawKeyPrefix  byte = 'r'
	txnKeyPrefix  byte = 'x'
	maxKeyspaceID      = 0xFFFFFF
)

// keyspaceTable is PD's keyspace registry.
type keyspaceTable struct {
	mu     sync.RWMutex
	byName map[string]*keyspacepb.KeyspaceMeta
}

func newKeyspaceTable() *keyspaceTable {
	return &keyspaceTable{byName: map[string]*keyspacepb.KeyspaceMeta{}}
}

func (t *keyspaceTable) create(name string, id uint32, now time.Time) (*keyspacepb.KeyspaceMeta, error) {
	if id > maxKeyspaceID {
		return nil, fmt.Errorf("%w: too many keyspaces", ErrInvalidOptions)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byName[name]; ok {
		return nil, fmt.Errorf("%w: duplicate keyspace %q", ErrInvalidOptions, name)
	}
	m := &keyspacepb.KeyspaceMeta{
		Keyspace:       &keyspacepb.KeyspaceMeta_Id{Id: id},
		Name:           name,
		State:          keyspacepb.KeyspaceState_ENABLED,
		CreatedAt:      now.Unix(),
		StateChangedAt: now.Unix(),
		Config:         map[string]string{"gc_management_type": "unified"},
	}
	t.byName[name] = m
	return m, nil
}

func (t *keyspaceTable) byNameLookup(name string) *keyspacepb.KeyspaceMeta {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byName[name]
}

func (t *keyspaceTable) byID(id uint32) *keyspacepb.KeyspaceMeta {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, m := range t.byName {
		if m.GetId() == id {
			return m
		}
	}
	return nil
}

func (t *keyspaceTable) all() []*keyspacepb.KeyspaceMeta {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*keyspacepb.KeyspaceMeta, 0, len(t.byName))
	for _, m := range t.byName {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetId() < out[j].GetId() })
	return out
}

// keyspacePrefix is the 4-byte API V2 key prefix of a keyspace.
func keyspacePrefix(mode byte, id uint32) []byte {
	return []byte{mode, byte(id >> 16), byte(id >> 8), byte(id)}
}

// keyspaceBoundaries returns the region keys PD splits at for a keyspace:
// the encoded raw and txn prefixes of the keyspace and of the next one.
func keyspaceBoundaries(id uint32) [][]byte {
	return [][]byte{
		EncodeKey(keyspacePrefix(rawKeyPrefix, id)),
		EncodeKey(keyspacePrefix(rawKeyPrefix, id+1)),
		EncodeKey(keyspacePrefix(txnKeyPrefix, id)),
		EncodeKey(keyspacePrefix(txnKeyPrefix, id+1)),
	}
}

// keyspaceService implements keyspacepb.KeyspaceServer for one PD member.
type keyspaceService struct {
	keyspacepb.UnimplementedKeyspaceServer
	m *pdMember
}

func (s *keyspaceService) pd() *pdService { return &pdService{m: s.m} }

// LoadKeyspace returns a keyspace by name; unknown ⇒ ENTRY_NOT_FOUND.
func (s *keyspaceService) LoadKeyspace(ctx context.Context, req *keyspacepb.LoadKeyspaceRequest) (*keyspacepb.LoadKeyspaceResponse, error) {
	pd := s.pd()
	if err := pd.validate(ctx, "LoadKeyspace", req.GetHeader()); err != nil {
		return nil, err
	}
	m := s.m.c.keyspaces.byNameLookup(req.GetName())
	if m == nil {
		return &keyspacepb.LoadKeyspaceResponse{Header: pd.errHeader(pdpb.ErrorType_ENTRY_NOT_FOUND, "keyspace %s not found", req.GetName())}, nil
	}
	return &keyspacepb.LoadKeyspaceResponse{Header: pd.header(), Keyspace: m}, nil
}

// LoadKeyspaceByID returns a keyspace by id; unknown ⇒ ENTRY_NOT_FOUND.
func (s *keyspaceService) LoadKeyspaceByID(ctx context.Context, req *keyspacepb.LoadKeyspaceByIDRequest) (*keyspacepb.LoadKeyspaceResponse, error) {
	pd := s.pd()
	if err := pd.validate(ctx, "LoadKeyspaceByID", req.GetHeader()); err != nil {
		return nil, err
	}
	m := s.m.c.keyspaces.byID(req.GetId())
	if m == nil {
		return &keyspacepb.LoadKeyspaceResponse{Header: pd.errHeader(pdpb.ErrorType_ENTRY_NOT_FOUND, "keyspace %d not found", req.GetId())}, nil
	}
	return &keyspacepb.LoadKeyspaceResponse{Header: pd.header(), Keyspace: m}, nil
}

// GetAllKeyspaces lists keyspaces from start_id, at most limit (0: all).
func (s *keyspaceService) GetAllKeyspaces(ctx context.Context, req *keyspacepb.GetAllKeyspacesRequest) (*keyspacepb.GetAllKeyspacesResponse, error) {
	pd := s.pd()
	if err := pd.validate(ctx, "GetAllKeyspaces", req.GetHeader()); err != nil {
		return nil, err
	}
	resp := &keyspacepb.GetAllKeyspacesResponse{Header: pd.header()}
	for _, m := range s.m.c.keyspaces.all() {
		if m.GetId() < req.GetStartId() {
			continue
		}
		if req.GetLimit() > 0 && len(resp.Keyspaces) >= int(req.GetLimit()) {
			break
		}
		resp.Keyspaces = append(resp.Keyspaces, m)
	}
	return resp, nil
}
