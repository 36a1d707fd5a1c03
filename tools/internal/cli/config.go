package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// ErrUsage is matched by every error about a flag, an argument or a value
// that can never work; such errors are reported before any connection is
// made.
var ErrUsage = errors.New("cli: invalid usage")

// Output formats accepted by --output.
const (
	// OutputText prints aligned, human-readable columns.
	OutputText = "text"
	// OutputJSON prints one JSON document per command.
	OutputJSON = "json"
)

// API versions accepted by --api-version, in TiKV's storage.api-version
// spelling.
const (
	// APIV1 is raw and transactional data side by side, no TTL.
	APIV1 = "v1"
	// APIV1TTL is API V1 with raw-key TTLs.
	APIV1TTL = "v1ttl"
	// APIV2 prefixes every key with a keyspace.
	APIV2 = "v2"
)

// DefaultTimeout bounds one command (connecting included) unless --timeout
// says otherwise.
const DefaultTimeout = 30 * time.Second

// Config is the serialisable form of the global flags. It is the only place
// in tikvgo where configuration is a plain struct (flags, files); the
// session turns it into each module's sealed options (pdclient, tikvsim) and
// into the RawTarget of the raw client.
type Config struct {
	// PD lists the PD endpoints of a real cluster ("host:port"). Empty means
	// an embedded tikvsim cluster is started in-process.
	PD []string `json:"pd,omitempty"`
	// Output is OutputText or OutputJSON.
	Output string `json:"output"`
	// Timeout bounds each command, connecting included.
	Timeout time.Duration `json:"timeout"`
	// CA, Cert and Key are PEM file paths for TLS to PD and TiKV: CA alone
	// verifies the servers, Cert and Key together add a client certificate.
	CA   string `json:"ca,omitempty"`
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
	// APIVersion is APIV1, APIV1TTL or APIV2.
	APIVersion string `json:"api_version"`
	// Keyspace names the keyspace used with APIV2; empty means the default
	// keyspace.
	Keyspace string `json:"keyspace,omitempty"`
}

// DefaultConfig returns the configuration the flags start from.
func DefaultConfig() Config {
	return Config{Output: OutputText, Timeout: DefaultTimeout, APIVersion: APIV1}
}

// Validate reports the first setting that can never work, as an error
// matching ErrUsage.
func (c Config) Validate() error {
	switch c.Output {
	case OutputText, OutputJSON:
	default:
		return fmt.Errorf("%w: --output %q: want %s or %s", ErrUsage, c.Output, OutputText, OutputJSON)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("%w: --timeout %v: must be positive", ErrUsage, c.Timeout)
	}
	if _, err := c.apiVersion(); err != nil {
		return err
	}
	if c.Keyspace != "" && c.APIVersion != APIV2 {
		return fmt.Errorf("%w: --keyspace needs --api-version %s", ErrUsage, APIV2)
	}
	for _, ep := range c.PD {
		if err := checkEndpoint(ep); err != nil {
			return err
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		return fmt.Errorf("%w: --cert and --key go together", ErrUsage)
	}
	if c.Cert != "" && c.CA == "" {
		return fmt.Errorf("%w: --cert and --key need --ca", ErrUsage)
	}
	if c.CA != "" && len(c.PD) == 0 {
		// The embedded cluster only speaks plaintext; silently ignoring the
		// TLS flags would hide a forgotten --pd.
		return fmt.Errorf("%w: TLS flags need --pd (the embedded cluster is plaintext)", ErrUsage)
	}
	return nil
}

// checkEndpoint accepts "host:port", optionally with an http:// or https://
// scheme as PD's own tools print it.
func checkEndpoint(ep string) error {
	hp := strings.TrimPrefix(strings.TrimPrefix(ep, "http://"), "https://")
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("%w: --pd %q: want host:port", ErrUsage, ep)
	}
	return nil
}

// splitEndpoints turns repeated and comma-separated --pd values into a clean
// list.
func splitEndpoints(vals []string) []string {
	var out []string
	for _, v := range vals {
		for ep := range strings.SplitSeq(v, ",") {
			if ep = strings.TrimSpace(ep); ep != "" {
				out = append(out, ep)
			}
		}
	}
	return out
}

func (c Config) apiVersion() (kvrpcpb.APIVersion, error) {
	switch c.APIVersion {
	case APIV1:
		return kvrpcpb.APIVersion_V1, nil
	case APIV1TTL:
		return kvrpcpb.APIVersion_V1TTL, nil
	case APIV2:
		return kvrpcpb.APIVersion_V2, nil
	}
	return 0, fmt.Errorf("%w: --api-version %q: want %s, %s or %s", ErrUsage, c.APIVersion, APIV1, APIV1TTL, APIV2)
}

// tlsConfig loads the TLS files, or returns nil for plaintext.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.CA == "" {
		return nil, nil
	}
	cfg, err := pdclient.LoadTLSConfig(c.CA, c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("cli: TLS: %w", err)
	}
	return cfg, nil
}

// pdOptions converts the connection settings into pdclient options.
func pdOptions(tlsCfg *tls.Config) []pdclient.Option {
	opts := []pdclient.Option{pdclient.WithCallerID("tikv-cli")}
	if tlsCfg != nil {
		opts = append(opts, pdclient.WithTLS(tlsCfg))
	}
	return opts
}

// simOptions converts the settings an embedded cluster must agree with (API
// version, keyspace) into tikvsim options.
func (c Config) simOptions() (tikvsim.Options, error) {
	v, err := c.apiVersion()
	if err != nil {
		return tikvsim.Options{}, err
	}
	opts := tikvsim.Options{APIVersion: v}
	if c.Keyspace != "" {
		opts.Keyspaces = []string{c.Keyspace}
	}
	return opts, nil
}
