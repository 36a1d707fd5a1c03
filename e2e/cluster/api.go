package cluster

import (
	"fmt"
	"strings"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// APIVersion is the storage api-version of the cluster's stores (TiKV's
// storage.api-version, with storage.enable-ttl for [APIV1TTL]). The suite
// must configure its client with the same version.
type APIVersion string

const (
	// APIDefault lets the backend choose: [APIV2] for clusters the backend
	// starts (the simulator, local and official images), [APIV1] for an
	// external cluster (TiKV's own default, as tiup playground runs it).
	APIDefault APIVersion = ""
	// APIV1 stores raw keys as they are, without TTL.
	APIV1 APIVersion = "v1"
	// APIV1TTL is API V1 with storage.enable-ttl: raw values may expire.
	APIV1TTL APIVersion = "v1ttl"
	// APIV2 prefixes keys with their keyspace and supports TTL.
	APIV2 APIVersion = "v2"
)

// EnvAPIVersion chooses the api-version: v1, v1ttl, v2, or empty for
// [APIDefault]. For an external cluster it declares what the cluster runs.
const EnvAPIVersion = "TIKVGO_E2E_API_VERSION"

// HasTTL reports whether raw values can carry a TTL under v.
func (v APIVersion) HasTTL() bool { return v == APIV1TTL || v == APIV2 }

// WithAPIVersion sets the api-version of the stores the backend starts or,
// for [KindExternal], declares the one the external cluster runs (the
// backend cannot change it). The default is [APIDefault]. The local image
// runs [APIV1] or [APIV2] only; Start fails for [APIV1TTL] there.
func WithAPIVersion(v APIVersion) Option {
	return optionFunc(func(c *config) { c.apiVersion = v })
}

func (c *config) validateAPIVersion() error {
	switch c.apiVersion {
	case APIDefault, APIV1, APIV1TTL, APIV2:
		return nil
	}
	return fmt.Errorf("%w: api-version %q (want %q, %q, %q or empty)", ErrUnknownBackend, c.apiVersion, APIV1, APIV1TTL, APIV2)
}

// resolveAPIVersion replaces APIDefault by the backend's default.
func (c *config) resolveAPIVersion() {
	if c.apiVersion != APIDefault {
		return
	}
	if c.kind == KindExternal {
		c.apiVersion = APIV1
		return
	}
	c.apiVersion = APIV2
}

func parseAPIVersion(s string) APIVersion {
	return APIVersion(strings.ToLower(strings.TrimSpace(s)))
}

// kvrpc returns the kvproto value of v (a resolved version).
func (v APIVersion) kvrpc() kvrpcpb.APIVersion {
	switch v {
	case APIV1TTL:
		return kvrpcpb.APIVersion_V1TTL
	case APIV2:
		return kvrpcpb.APIVersion_V2
	}
	return kvrpcpb.APIVersion_V1
}

// tikvStorageConfig is the [storage] settings of an official TiKV for v.
func (v APIVersion) tikvStorageConfig() string {
	switch v {
	case APIV1TTL:
		return "api-version = 1\nenable-ttl = true\n"
	case APIV2:
		return "api-version = 2\nenable-ttl = true\n"
	}
	return "api-version = 1\n"
}
