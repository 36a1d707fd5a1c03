package pdclient

import (
	"context"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/pdpb"
)

// Keyspace is a keyspace's metadata as PD stores it.
type Keyspace struct {
	// ID is the keyspace id (24 bits are used in keys).
	ID uint32
	// Name is the keyspace name.
	Name string
	// State is ENABLED, DISABLED, ARCHIVED or TOMBSTONE.
	State keyspacepb.KeyspaceState
	// CreatedAt and StateChangedAt come from PD's unix-second fields.
	CreatedAt, StateChangedAt time.Time
	// Config holds keyspace settings such as gc_management_type.
	Config map[string]string
}

// LoadKeyspace loads a keyspace by name. An unknown keyspace, or one whose
// region boundaries are not split yet, fails with an error matching
// [ErrKeyspaceNotFound].
func (c *Client) LoadKeyspace(ctx context.Context, name string, opts ...CallOption) (*Keyspace, error) {
	resp, err := invoke(ctx, c, "LoadKeyspace", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*keyspacepb.LoadKeyspaceResponse, error) {
			return keyspacepb.NewKeyspaceClient(l.conn).LoadKeyspace(ctx, &keyspacepb.LoadKeyspaceRequest{
				Header: c.header(), Name: name,
			})
		})
	if err != nil {
		return nil, err
	}
	m := resp.GetKeyspace()
	if m == nil {
		return nil, &PDError{Type: pdpb.ErrorType_ENTRY_NOT_FOUND, Message: "keyspace " + name + " not returned"}
	}
	return &Keyspace{
		ID:             m.GetId(),
		Name:           m.Name,
		State:          m.State,
		CreatedAt:      time.Unix(m.CreatedAt, 0),
		StateChangedAt: time.Unix(m.StateChangedAt, 0),
		Config:         m.Config,
	}, nil
}
