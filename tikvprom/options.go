package tikvprom

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tikvgo/tikvgo/retry"
)

// ErrInvalidOption is wrapped by the error New returns for a bad argument or
// option (retry.ErrInvalidOption, re-exported).
var ErrInvalidOption = retry.ErrInvalidOption

// DefaultNamespace prefixes every metric name unless WithNamespace says
// otherwise.
const DefaultNamespace = "tikvgo"

// Option configures New. Options are sealed: build them with the With*
// functions of this package.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	namespace   string
	constLabels prometheus.Labels
	buckets     []float64
	errs        []error
}

func defaultConfig() config {
	return config{
		namespace: DefaultNamespace,
		// Store RPCs and TSO rounds take from about 100µs on a LAN to
		// seconds under backoff.
		buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	}
}

func (c *config) validate() error {
	errs := slices.Clone(c.errs)
	if c.namespace == "" {
		errs = append(errs, errors.New("empty namespace"))
	}
	if len(c.buckets) == 0 {
		errs = append(errs, errors.New("no histogram buckets"))
	}
	for i := 1; i < len(c.buckets); i++ {
		if c.buckets[i] <= c.buckets[i-1] {
			errs = append(errs, fmt.Errorf("buckets %v are not strictly increasing", c.buckets))
			break
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("tikvprom: %w: %w", ErrInvalidOption, errors.Join(errs...))
}

// WithNamespace sets the prefix of every metric name. Default
// DefaultNamespace.
func WithNamespace(ns string) Option {
	return optionFunc(func(c *config) { c.namespace = ns })
}

// WithConstLabels adds labels with fixed values to every metric, for example
// to tell two clients of one process apart on one registry (then build one
// Metrics per client). Default: none.
func WithConstLabels(l prometheus.Labels) Option {
	return optionFunc(func(c *config) { c.constLabels = l })
}

// WithBuckets sets the upper bounds, in seconds, of the latency histograms
// (RPC, backoff sleep, TSO). Default: 18 exponential buckets from 100µs
// doubling up to about 13s.
func WithBuckets(b ...float64) Option {
	return optionFunc(func(c *config) { c.buckets = slices.Clone(b) })
}
