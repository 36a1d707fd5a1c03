// Package keycodec maps the keys a client's user sees to the keys TiKV
// stores (wire keys) and to the keys region boundaries are expressed in
// (region keys), for every API version and mode TiKV serves:
//
//	version, mode   wire key                     region key
//	V1 raw          user key                     wire key
//	V1 txn          user key                     memcomparable(wire key)
//	V2 raw          'r' ks[3] user key           memcomparable(wire key)
//	V2 txn          'x' ks[3] user key           memcomparable(wire key)
//
// (ks is the keyspace id, 3 bytes big-endian.) Under API V1 TiKV stores raw
// keys as they come but transactional keys memcomparable-encoded (TiKV's
// MVCC layer encodes them before appending the timestamp), and PD splits
// regions on the stored form; under V2 every key is stored encoded. The
// region cache keeps boundaries exactly as PD reports them, so one cache can
// serve raw and transactional clients at once; the codec converts at the
// edges (see locate.Router).
//
// The encoding is TiKV's memcomparable bytes encoding: 8-byte groups padded
// with zeros, each followed by 0xFF minus the number of pad bytes. It keeps
// order: a < b if and only if encode(a) < encode(b).
//
// A [Codec] is immutable and safe for concurrent use.
package keycodec

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Mode says which of TiKV's two key spaces a client addresses.
type Mode uint8

const (
	// Raw is the raw key-value key space (RawGet, RawPut, ...).
	Raw Mode = iota
	// Txn is the transactional key space (Get, Prewrite, Commit, ...).
	Txn
)

// String implements fmt.Stringer.
func (m Mode) String() string {
	switch m {
	case Raw:
		return "raw"
	case Txn:
		return "txn"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// MaxKeyspaceID is the largest keyspace id: the id takes 3 bytes of the key
// prefix.
const MaxKeyspaceID = 1<<24 - 1

// Key-mode bytes that start every API V2 key.
const (
	rawPrefix = 'r'
	txnPrefix = 'x'
)

var (
	// ErrBadKeyspace is returned by [NewV2] for a keyspace id beyond
	// [MaxKeyspaceID].
	ErrBadKeyspace = errors.New("keycodec: keyspace id out of range")
	// ErrBadMode is returned for a mode other than [Raw] and [Txn].
	ErrBadMode = errors.New("keycodec: unknown key mode")
	// ErrOutsideKeyspace is returned by [Codec.DecodeKey] for a key TiKV
	// returned that does not carry the codec's keyspace prefix.
	ErrOutsideKeyspace = errors.New("keycodec: key outside the keyspace")
	// ErrKeyspace is the shared sentinel for a keyspace a client cannot
	// use (not found, not enabled, id out of range); rawkv and txnkv
	// re-export it, so one errors.Is test covers both clients.
	ErrKeyspace = errors.New("keycodec: keyspace unavailable")
	// ErrBadRegionKey is returned when a region boundary is not a
	// memcomparable-encoded key.
	ErrBadRegionKey = errors.New("keycodec: region key is not memcomparable")
)

// Codec converts keys for one API version, mode and keyspace. The zero
// value is the API V1 raw codec: every conversion is the identity.
type Codec struct {
	v2         bool
	encoded    bool // region keys are memcomparable
	keyspaceID uint32
	prefix     []byte // V2 only: the keyspace's wire prefix
	next       []byte // V2 only: the next keyspace's prefix (exclusive end)
	// ks is shared by every request context: it is never modified, and
	// marshalling only reads it.
	ks *kvrpcpb.Context_KeyspaceId
}

// NewV1 returns the API V1 codec of mode (V1TTL uses the V1 codec too).
func NewV1(mode Mode) (*Codec, error) {
	switch mode {
	case Raw:
		return &Codec{}, nil
	case Txn:
		return &Codec{encoded: true}, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrBadMode, mode)
}

// NewV2 returns the API V2 codec of mode in keyspace id.
func NewV2(mode Mode, keyspaceID uint32) (*Codec, error) {
	var m byte
	switch mode {
	case Raw:
		m = rawPrefix
	case Txn:
		m = txnPrefix
	default:
		return nil, fmt.Errorf("%w: %v", ErrBadMode, mode)
	}
	if keyspaceID > MaxKeyspaceID {
		return nil, fmt.Errorf("%w: %d > %d", ErrBadKeyspace, keyspaceID, MaxKeyspaceID)
	}
	c := &Codec{
		v2: true, encoded: true, keyspaceID: keyspaceID,
		prefix: keyspacePrefix(m, keyspaceID),
		ks:     &kvrpcpb.Context_KeyspaceId{KeyspaceId: keyspaceID},
	}
	if keyspaceID == MaxKeyspaceID {
		c.next = []byte{m + 1}
	} else {
		c.next = keyspacePrefix(m, keyspaceID+1)
	}
	return c, nil
}

func keyspacePrefix(mode byte, id uint32) []byte {
	return []byte{mode, byte(id >> 16), byte(id >> 8), byte(id)}
}

// KeyspaceID returns the keyspace id under API V2, 0 under V1.
func (c *Codec) KeyspaceID() uint32 { return c.keyspaceID }

// PrefixLen returns how many bytes [Codec.EncodeKey] adds to a key: 4
// under API V2, 0 under V1. TiKV's key size limit counts them.
func (c *Codec) PrefixLen() int { return len(c.prefix) }

// APIVersion returns the api_version requests carry. Under V1TTL requests
// carry V1 too (TiKV rejects V1TTL in a request context).
func (c *Codec) APIVersion() kvrpcpb.APIVersion {
	if c.v2 {
		return kvrpcpb.APIVersion_V2
	}
	return kvrpcpb.APIVersion_V1
}

// Context returns a fresh request context with the API version and, under
// V2, the keyspace set.
func (c *Codec) Context() *kvrpcpb.Context {
	ctx := new(kvrpcpb.Context)
	c.InitContext(ctx)
	return ctx
}

// InitContext sets the API version and, under V2, the keyspace of ctx, a
// zero context the caller allocated (for example inside its request).
func (c *Codec) InitContext(ctx *kvrpcpb.Context) {
	ctx.ApiVersion = c.APIVersion()
	if c.ks != nil {
		ctx.Keyspace = c.ks
	}
}

// EncodeKey returns the wire key of a user key. Under V1 it returns k
// itself.
func (c *Codec) EncodeKey(k []byte) []byte {
	if c.prefix == nil {
		return k
	}
	out := make([]byte, 0, len(c.prefix)+len(k))
	return append(append(out, c.prefix...), k...)
}

// EncodeRange returns the wire range of the user range [start, end). An
// empty end means the end of the key space: +inf under V1 (the wire end
// stays empty), the next keyspace's prefix under V2.
func (c *Codec) EncodeRange(start, end []byte) (wireStart, wireEnd []byte) {
	ws := c.EncodeKey(start)
	if len(end) == 0 {
		if c.prefix == nil {
			return ws, nil
		}
		return ws, c.next
	}
	return ws, c.EncodeKey(end)
}

// DecodeKey returns the user key of a wire key TiKV returned. The result
// shares w's memory.
func (c *Codec) DecodeKey(w []byte) ([]byte, error) {
	if c.prefix == nil {
		return w, nil
	}
	if !bytes.HasPrefix(w, c.prefix) {
		return nil, fmt.Errorf("%w: %q not in keyspace %d", ErrOutsideKeyspace, w, c.keyspaceID)
	}
	return w[len(c.prefix):], nil
}

// RegionKey returns the region key of a wire key: the form the region
// cache and PD compare with region boundaries. Under V1 raw it returns w
// itself. An empty key stays empty (it stands for -inf or +inf).
func (c *Codec) RegionKey(w []byte) []byte {
	if !c.encoded || len(w) == 0 {
		return w
	}
	return EncodeBytes(w)
}

// WireBound returns the wire form of a region boundary: the smallest wire
// key whose region key is at or after r, so that the region [s, e) holds
// exactly the wire keys in [WireBound(s), WireBound(e)), as the cache routes
// them. An empty boundary (-inf or +inf) stays empty. Under V1 raw it
// returns r itself.
//
// Under the encoded codecs r need not be an encoding: a V1 cluster shared
// with raw KV is split at raw keys, and a split key may cut a group short or
// carry a timestamp. Such a boundary maps to the first wire key after it;
// two boundaries may then map to the same wire key, and a region between
// them holds no key of this codec. The error is always nil; it stays for
// callers written when a boundary could fail to decode.
func (c *Codec) WireBound(r []byte) ([]byte, error) {
	if !c.encoded || len(r) == 0 {
		return r, nil
	}
	return lowestAtOrAfter(r), nil
}

// MaxStoredKeyLen bounds the wire keys TiKV can hold for a transactional
// client: it refuses a write whose encoded key is longer than 8 KiB, and an
// encoded key is longer than its wire key.
const MaxStoredKeyLen = 8192

// RequestEnd returns the exclusive end a request may carry for the part of
// a walked range that ends at end inside a region ending at regionEnd (a
// region key; empty: +inf). TiKV refuses a scan or a range delete whose
// end's region key lies past the region. When regionEnd is no encoding (a
// raw split key), end, the first wire key at or after it, does; RequestEnd
// then returns the largest wire key of MaxStoredKeyLen bytes below end,
// which is inside the region and above every key TiKV can have stored
// there. ok is false when no end both stays inside the region and covers
// it: regionEnd is an encoding followed by more bytes (a timestamp), so the
// key before it has versions on both sides of the boundary.
func (c *Codec) RequestEnd(end, regionEnd []byte) (out []byte, ok bool) {
	if !c.encoded || len(regionEnd) == 0 || len(end) == 0 || c.CompareRegionKey(end, regionEnd) <= 0 {
		return end, true
	}
	last := len(end) - 1
	if end[last] == 0 {
		return nil, false
	}
	out = make([]byte, max(MaxStoredKeyLen, len(end)))
	copy(out, end)
	out[last]--
	for i := len(end); i < len(out); i++ {
		out[i] = 0xFF
	}
	return out, true
}

// lowestAtOrAfter returns the smallest k with EncodeBytes(k) >= r. It walks
// r group by group: a complete group (marker 0xFF) is taken whole; the first
// group that ends the encoding, or does not fit it, decides the tail.
func lowestAtOrAfter(r []byte) []byte {
	out := make([]byte, 0, len(r))
	for {
		if len(r) <= encGroupSize {
			// A cut group p: the shortest k whose padded group starts
			// with p is p without its trailing zeros (they equal the
			// padding, and the marker then sorts after the end of r).
			return append(out, trimZeros(r)...)
		}
		group, marker, rest := r[:encGroupSize], r[encGroupSize], r[encGroupSize+1:]
		if marker == encMarker {
			out = append(out, group...)
			r = rest
			continue
		}
		// A key of n < 8 bytes in this group encodes as its bytes, 8-n
		// zeros and the marker 0xFF-(8-n); any longer key starting with
		// group sorts after r, since its marker 0xFF beats r's. So the
		// answer is the shortest prefix group[:n] whose padded form is
		// group (group[n:] all zeros) and whose marker is above r's, or
		// equal with nothing left of r; failing that, group itself.
		n := len(trimZeros(group))
		pad := encGroupSize - int(encMarker-marker) // n at which the markers are equal
		need := pad + 1
		if len(rest) == 0 {
			need = pad
		}
		n = max(n, need)
		if n < encGroupSize {
			return append(out, group[:n]...)
		}
		return append(out, group...)
	}
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

const (
	encGroupSize = 8
	encMarker    = 0xFF
)

// EncodeBytes returns TiKV's memcomparable encoding of k.
func EncodeBytes(k []byte) []byte {
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

// DecodeBytes reverses [EncodeBytes]. Bytes after the final group (a
// region key may carry a timestamp suffix) are ignored; a truncated
// trailing group decodes to its bytes.
func DecodeBytes(e []byte) ([]byte, error) {
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
			return nil, fmt.Errorf("%w: %q", ErrBadRegionKey, e)
		}
		return append(out, group[:encGroupSize-pad]...), nil
	}
	return out, nil
}

// CompareRegionKey compares the region key of the wire key w with the
// region key r (a region boundary) without building the region key:
// -1 if w's region key sorts before r, 0 if equal, +1 after. An empty r is
// compared as the empty key (callers treat an empty end boundary as +inf
// themselves).
func (c *Codec) CompareRegionKey(w, r []byte) int {
	if !c.encoded {
		return bytes.Compare(w, r)
	}
	return compareEncoded(w, r)
}

// compareEncoded compares EncodeBytes(k) with e.
func compareEncoded(k, e []byte) int {
	p := 0
	// next compares one byte of the encoding with e[p]; it reports the
	// result and whether the comparison is decided.
	next := func(b byte) (int, bool) {
		if p == len(e) {
			return 1, true
		}
		if b != e[p] {
			if b < e[p] {
				return -1, true
			}
			return 1, true
		}
		p++
		return 0, false
	}
	for i := 0; ; i += encGroupSize {
		rest := len(k) - i
		n := min(rest, encGroupSize)
		for _, b := range k[i : i+n] {
			if c, done := next(b); done {
				return c
			}
		}
		for range encGroupSize - n {
			if c, done := next(0); done {
				return c
			}
		}
		if c, done := next(encMarker - byte(encGroupSize-n)); done {
			return c
		}
		if n < encGroupSize {
			if p == len(e) {
				return 0
			}
			return -1
		}
	}
}
