package retry_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// tempError is a retryable error that may name the kind to back off with.
type tempError struct {
	msg  string
	kind *retry.Kind
}

func (e *tempError) Error() string            { return e.msg }
func (e *tempError) Retryable() bool          { return true }
func (e *tempError) BackoffKind() *retry.Kind { return e.kind }

// fatalError says explicitly that it must not be retried.
type fatalError struct{ msg string }

func (e *fatalError) Error() string   { return e.msg }
func (e *fatalError) Retryable() bool { return false }

// seededRand returns a seeded source and logs the seed if the test fails.
func seededRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("jitter seed: %d", seed)
		}
	})
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// mustKind makes a kind or fails the test.
func mustKind(t *testing.T, name string, curve retry.Backoff, jitter retry.JitterPolicy, err error, opts ...retry.KindOption) *retry.Kind {
	t.Helper()
	k, kerr := retry.NewKind(name, curve, jitter, err, opts...)
	if kerr != nil {
		t.Fatalf("NewKind(%q): %v", name, kerr)
	}
	return k
}

// flat is a curve whose every delay is d.
func flat(d time.Duration) retry.Backoff {
	return retry.Backoff{Base: d, Max: d, Multiplier: 2}
}

// rngFor returns a source with a fixed seed.
func rngFor(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed))
}
