package rawkv

import (
	"fmt"
	"time"
)

// The key codec (keyspace prefix, region keys) lives in locate/keycodec;
// what stays here are the raw API's own rules per version.

func (c *Client) ttlEnabled() bool { return c.cfg.apiVersion != V1 }

// checkCF validates a column family and returns the name to send.
func (c *Client) checkCF(cf string) (string, error) {
	switch cf {
	case "", "default":
		if c.cfg.apiVersion == V2 {
			// TiKV rejects every non-empty cf under V2, "default"
			// included; the empty name means the default.
			return "", nil
		}
		return cf, nil
	case "lock", "write":
		if c.cfg.apiVersion != V2 {
			return cf, nil
		}
	}
	return "", fmt.Errorf("%w: %q under api version %v", ErrUnknownColumnFamily, cf, c.cfg.apiVersion)
}

// ttlSeconds converts a TTL to TiKV's whole seconds, rounding up so that a
// positive TTL never becomes "no TTL".
func (c *Client) ttlSeconds(d time.Duration) (uint64, error) {
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

// userKey strips the keyspace prefix from a key TiKV returned.
func (c *Client) userKey(w []byte) ([]byte, error) {
	k, err := c.codec.DecodeKey(w)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServer, err)
	}
	return k, nil
}
