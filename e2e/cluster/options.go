package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ImageMode says which images the containers backend runs.
type ImageMode string

const (
	// ImageAuto runs the official images when both are present in the local
	// Docker image store and the local tikvsim image otherwise.
	ImageAuto ImageMode = ""
	// ImageOfficial runs one pingcap/pd and three pingcap/tikv containers.
	// Images missing locally are pulled; if that fails, Start fails with an
	// error matching [ErrImageUnavailable].
	ImageOfficial ImageMode = "official"
	// ImageLocal builds the standalone tikvsim binary into a FROM scratch
	// image (no pull) and runs the whole simulated cluster in one container.
	ImageLocal ImageMode = "local"
)

// Default official images. The tag is the newest release line the client
// targets: the GC-states API the client uses needs PD and TiKV v9.0 or newer.
const (
	DefaultPDImage   = "pingcap/pd:v9.0.0"
	DefaultTiKVImage = "pingcap/tikv:v9.0.0"
)

// Environment variables read by [OptionsFromEnv].
const (
	// EnvBackend chooses the backend: sim (default), containers or external.
	EnvBackend = "TIKVGO_E2E_BACKEND"
	// EnvPDAddrs lists an external cluster's PD endpoints, comma-separated.
	EnvPDAddrs = "PD_ADDRS"
	// EnvImageMode chooses the containers backend's images: local,
	// official, or empty for [ImageAuto].
	EnvImageMode = "TIKVGO_E2E_IMAGE"
	// EnvPDImage names the PD image of [ImageOfficial].
	EnvPDImage = "TIKVGO_PD_IMAGE"
	// EnvTiKVImage names the TiKV image of [ImageOfficial].
	EnvTiKVImage = "TIKVGO_TIKV_IMAGE"
	// EnvAdvertiseHost overrides the advertised host of [ImageOfficial]
	// (see [WithAdvertiseHost]).
	EnvAdvertiseHost = "TIKVGO_E2E_ADVERTISE_HOST"
	// EnvTikvsimDir points [ImageLocal] at the tikvsim module directory.
	EnvTikvsimDir = "TIKVGO_TIKVSIM_DIR"
)

const (
	// stores is how many stores every backend that starts a cluster starts.
	stores = 3
	// simPDs is how many PD members the simulated backends start, so that PD
	// leader changes can be exercised.
	simPDs = 3
	// teardownTimeout bounds Close.
	teardownTimeout = 2 * time.Minute
)

type config struct {
	kind          Kind
	pdAddrs       []string
	imageMode     ImageMode
	pdImage       string
	tikvImage     string
	advertiseHost string
	tikvsimDir    string
	apiVersion    APIVersion
	logger        *slog.Logger

	// ping checks the Docker engine; white-box tests replace it.
	ping func(context.Context) error
}

func defaultConfig() config {
	return config{
		kind:      KindSim,
		imageMode: ImageAuto,
		pdImage:   DefaultPDImage,
		tikvImage: DefaultTiKVImage,
		logger:    slog.New(slog.DiscardHandler),
		ping:      pingDocker,
	}
}

func (c *config) validate() error {
	switch c.kind {
	case KindSim, KindContainers:
	case KindExternal:
		if len(c.pdAddrs) == 0 {
			return ErrNoPDAddrs
		}
	default:
		return fmt.Errorf("%w %q (want %s, %s or %s)", ErrUnknownBackend, c.kind, KindSim, KindContainers, KindExternal)
	}
	switch c.imageMode {
	case ImageAuto, ImageOfficial, ImageLocal:
	default:
		return fmt.Errorf("%w: image mode %q (want %q, %q or empty)", ErrUnknownBackend, c.imageMode, ImageLocal, ImageOfficial)
	}
	return c.validateAPIVersion()
}

// Option configures [Start].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithBackend chooses the backend. The default is [KindSim].
func WithBackend(k Kind) Option { return optionFunc(func(c *config) { c.kind = k }) }

// WithPDAddrs gives the PD endpoints of an external cluster. Required with
// [KindExternal]; ignored otherwise.
func WithPDAddrs(addrs ...string) Option {
	return optionFunc(func(c *config) { c.pdAddrs = cleanAddrs(addrs) })
}

// WithImageMode chooses the images of the containers backend. The default is
// [ImageAuto].
func WithImageMode(m ImageMode) Option { return optionFunc(func(c *config) { c.imageMode = m }) }

// WithImages sets the PD and TiKV images of [ImageOfficial]; an empty name
// keeps the default ([DefaultPDImage], [DefaultTiKVImage]).
func WithImages(pd, tikv string) Option {
	return optionFunc(func(c *config) {
		if pd != "" {
			c.pdImage = pd
		}
		if tikv != "" {
			c.tikvImage = tikv
		}
	})
}

// WithAdvertiseHost sets the host that official-image containers advertise
// to PD and to each other; it must be dialable both from the test process
// and from inside the containers. The default is the gateway of the private
// Docker network, which is such a host on a Linux Docker engine. On Docker
// Desktop, set it to an address of the host machine (for example its LAN IP).
func WithAdvertiseHost(host string) Option {
	return optionFunc(func(c *config) { c.advertiseHost = host })
}

// WithTikvsimDir sets the directory of the tikvsim module, whose
// ./cmd/tikvsim is built for [ImageLocal]. The default is ../tikvsim
// relative to the e2e module in this source tree.
func WithTikvsimDir(dir string) Option { return optionFunc(func(c *config) { c.tikvsimDir = dir }) }

// WithLogger sets the logger for lifecycle events (start, readiness, faults,
// teardown). The default discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// OptionsFromEnv turns the TIKVGO_E2E_* variables and PD_ADDRS, read through
// getenv (os.Getenv in practice), into options for [Start]. It fails for an
// unknown backend, image mode or api-version, and for the external backend without
// PD_ADDRS.
func OptionsFromEnv(getenv func(string) string) ([]Option, error) {
	c := defaultConfig()
	if v := strings.TrimSpace(getenv(EnvBackend)); v != "" {
		c.kind = Kind(strings.ToLower(v))
	}
	c.pdAddrs = cleanAddrs(strings.Split(getenv(EnvPDAddrs), ","))
	c.imageMode = ImageMode(strings.ToLower(strings.TrimSpace(getenv(EnvImageMode))))
	c.apiVersion = parseAPIVersion(getenv(EnvAPIVersion))
	if err := c.validate(); err != nil {
		return nil, err
	}
	return []Option{
		WithBackend(c.kind),
		WithPDAddrs(c.pdAddrs...),
		WithImageMode(c.imageMode),
		WithImages(strings.TrimSpace(getenv(EnvPDImage)), strings.TrimSpace(getenv(EnvTiKVImage))),
		WithAdvertiseHost(strings.TrimSpace(getenv(EnvAdvertiseHost))),
		WithTikvsimDir(strings.TrimSpace(getenv(EnvTikvsimDir))),
		WithAPIVersion(c.apiVersion),
	}, nil
}

// cleanAddrs trims the entries, drops empty ones and any http:// or
// https:// scheme (PD_ADDRS is often copied from PD's client URLs).
func cleanAddrs(in []string) []string {
	var out []string
	for _, a := range in {
		a = strings.TrimSpace(a)
		a = strings.TrimPrefix(a, "http://")
		a = strings.TrimPrefix(a, "https://")
		a = strings.TrimSuffix(a, "/")
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}
