package rawkv

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// codec maps user keys to the keys TiKV sees (wire keys) and to region keys,
// the form region boundaries take in PD and in the region cache.
//
// Under V1 and V1TTL the three are the same bytes. Under V2 a wire key is
// 'r' ++ 3-byte big-endian keyspace id ++ user key, and a region key is the
// memcomparable encoding of the wire key (TiKV encodes raw keys under V2
// before storing them, and PD splits on encoded keys).
type codec struct {
	version    APIVersion
	keyspaceID uint32
	prefix     []byte // V2 only: the keyspace's wire prefix
	next       []byte // V2 only: the next keyspace's prefix (exclusive end)
	// ks is shared by every request context: it is never modified after
	// construction, and marshalling only reads it.
	ks *kvrpcpb.Context_KeyspaceId
}

const rawModePrefix = 'r'

// maxKeyspaceID is the largest id that fits the 3-byte key prefix.
const maxKeyspaceID = 1<<24 - 1

var errBadRegionKey = errors.New("rawkv: region key is not memcomparable")

func newCodec(v APIVersion, keyspaceID uint32) *codec {
	c := &codec{version: v, keyspaceID: keyspaceID}
	if v == V2 {
		c.prefix = keyspacePrefix(keyspaceID)
		c.ks = &kvrpcpb.Context_KeyspaceId{KeyspaceId: keyspaceID}
		if keyspaceID == maxKeyspaceID {
			c.next = []byte{rawModePrefix + 1}
		} else {
			c.next = keyspacePrefix(keyspaceID + 1)
		}
	}
	return c
}

func keyspacePrefix(id uint32) []byte {
	return []byte{rawModePrefix, byte(id >> 16), byte(id >> 8), byte(id)}
}

// apiVersion is the api_version a request carries: a V1TTL store expects V1
// requests (TiKV rejects V1TTL in the request context).
func (c *codec) apiVersion() kvrpcpb.APIVersion {
	if c.version == V2 {
		return kvrpcpb.APIVersion_V2
	}
	return kvrpcpb.APIVersion_V1
}

func (c *codec) ttlEnabled() bool { return c.version != V1 }

// context returns a fresh request context with the API fields set.
func (c *codec) context() *kvrpcpb.Context {
	ctx := &kvrpcpb.Context{ApiVersion: c.apiVersion()}
	if c.ks != nil {
		ctx.Keyspace = c.ks
	}
	return ctx
}

// wireKey prefixes a user key.
func (c *codec) wireKey(k []byte) []byte {
	if c.prefix == nil {
		return k
	}
	out := make([]byte, 0, len(c.prefix)+len(k))
	return append(append(out, c.prefix...), k...)
}

// wireRange maps a user range; an empty end means the end of the keyspace
// (+inf under V1, which stays empty on the wire).
func (c *codec) wireRange(start, end []byte) ([]byte, []byte) {
	ws := c.wireKey(start)
	if len(end) == 0 {
		if c.prefix == nil {
			return ws, nil
		}
		return ws, c.next
	}
	return ws, c.wireKey(end)
}

// userKey strips the keyspace prefix from a key TiKV returned.
func (c *codec) userKey(w []byte) ([]byte, error) {
	if c.prefix == nil {
		return w, nil
	}
	if !bytes.HasPrefix(w, c.prefix) {
		return nil, fmt.Errorf("%w: tikv returned key %q outside keyspace %d", ErrServer, w, c.keyspaceID)
	}
	return w[len(c.prefix):], nil
}

// regionKey maps a wire key to the region key space.
func (c *codec) regionKey(w []byte) []byte {
	if c.prefix == nil {
		return w
	}
	return encodeMemcomparable(w)
}

// wireBound maps a region boundary back to the wire key space; an empty
// boundary (-inf or +inf) stays empty.
func (c *codec) wireBound(r []byte) ([]byte, error) {
	if c.prefix == nil || len(r) == 0 {
		return r, nil
	}
	return decodeMemcomparable(r)
}

// checkCF validates a column family and returns the name to send.
func (c *codec) checkCF(cf string) (string, error) {
	switch cf {
	case "", "default":
		if c.version == V2 {
			// TiKV rejects every non-empty cf under V2, "default"
			// included; the empty name means the default.
			return "", nil
		}
		return cf, nil
	case "lock", "write":
		if c.version != V2 {
			return cf, nil
		}
	}
	return "", fmt.Errorf("%w: %q under api version %v", ErrUnknownColumnFamily, cf, c.version)
}

// ttlSeconds converts a TTL to TiKV's whole seconds, rounding up so that a
// positive TTL never becomes "no TTL".
func (c *codec) ttlSeconds(d time.Duration) (uint64, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("%w: %v", ErrInvalidTTL, d)
	case d == 0:
		return 0, nil
	case !c.ttlEnabled():
		return 0, ErrTTLNotSupported
	}
	return uint64((d + time.Second - 1) / time.Second), nil
}

const (
	encGroupSize = 8
	encMarker    = 0xFF
)

// encodeMemcomparable returns TiKV's memcomparable encoding of k: 8-byte
// groups padded with zeros, each followed by 0xFF minus the padding length.
func encodeMemcomparable(k []byte) []byte {
	out := make([]byte, 0, (len(k)/encGroupSize+1)*(encGroupSize+1))
	for i := 0; ; i += encGroupSize {
		rest := len(k) - i
		if rest >= encGroupSize {
			out = append(out, k[i:i+encGroupSize]...)
			out = append(out, encMarker)
			continue
		}
		out = append(out, k[i:]...)
		for range encGroupSize - rest {
			out = append(out, 0)
		}
		return append(out, encMarker-byte(encGroupSize-rest))
	}
}

// decodeMemcomparable reverses encodeMemcomparable. Region boundaries may
// be cut anywhere by a split outside our control; a truncated trailing group
// decodes to its bytes, which sorts where the boundary sorts.
func decodeMemcomparable(e []byte) ([]byte, error) {
	out := make([]byte, 0, len(e))
	for len(e) > 0 {
		if len(e) < encGroupSize+1 {
			return append(out, e...), nil
		}
		group, marker := e[:encGroupSize], e[encGroupSize]
		pad := int(encMarker - marker)
		if pad == 0 {
			out = append(out, group...)
			e = e[encGroupSize+1:]
			continue
		}
		if pad > encGroupSize {
			return nil, fmt.Errorf("%w: %q", errBadRegionKey, e)
		}
		return append(out, group[:encGroupSize-pad]...), nil
	}
	return out, nil
}
