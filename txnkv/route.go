package txnkv

import (
	"github.com/tikvgo/tikvgo/locate/keycodec"
)

// Routing goes through locate's Router (one key, range walks, batches by
// region) in wire keys: the codec adds the keyspace prefix under API V2
// (user keys are wire keys under V1) and maps wire keys to the
// memcomparable region keys the cache compares.

func newCodec(cfg config) (*keycodec.Codec, error) {
	if cfg.v2 {
		return keycodec.NewV2(keycodec.Txn, cfg.keyspaceID)
	}
	return keycodec.NewV1(keycodec.Txn)
}

// keyItem is the ItemFunc of a key list (sizes do not matter for reads).
func keyItem(k []byte) ([]byte, int) { return k, len(k) }

// encodeKeys returns the wire keys of user keys (keys itself under V1).
func (c *Client) encodeKeys(keys [][]byte) [][]byte {
	if c.codec.PrefixLen() == 0 {
		return keys
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = c.codec.EncodeKey(k)
	}
	return out
}

// decodeKey returns the user key of a wire key TiKV returned; a key outside
// the keyspace (which a correct server never returns) is kept as it is, so
// an error that names it still says something.
func (c *Client) decodeKey(w []byte) []byte {
	if k, err := c.codec.DecodeKey(w); err == nil {
		return k
	}
	return w
}
