package retry

import (
	"fmt"
	"time"
)

// Kind is a named class of retry: the delay curve, the jitter policy and the
// sentinel error an operation reports when it runs out of budget while
// backing off for this class. Every predefined kind (see kinds.go) mirrors one
// of client-go's; [NewKind] makes others.
//
// A Kind is immutable and safe for concurrent use. A [Backoffer] keeps one
// delay sequence per *Kind pointer, so two kinds with the same name are still
// two sequences.
type Kind struct {
	name        string
	curve       Backoff
	jitter      JitterPolicy
	err         error
	maxAttempts int
	separate    time.Duration
}

// KindOption configures a [Kind] made by [NewKind].
type KindOption interface {
	applyKind(k Kind) Kind
}

type kindOptionFunc func(Kind) Kind

func (f kindOptionFunc) applyKind(k Kind) Kind { return f(k) }

// WithMaxAttempts limits how many times one [Backoffer] (each fork counts
// separately) may back off for the kind; the next Backoff call returns an
// [*ExhaustedError] wrapping [ErrMaxAttempts]. The default, 0, means no limit,
// as in client-go (client-rust limits its region backoffs to 10).
func WithMaxAttempts(n int) KindOption {
	return kindOptionFunc(func(k Kind) Kind {
		k.maxAttempts = n
		return k
	})
}

// WithSeparateBudget charges the kind's sleeps to a pool of their own instead
// of the operation budget. The pool holds the larger of limit and the
// operation budget, and is shared by every kind with a separate budget.
// client-go does this for "server is busy" (limit 10 minutes), because a busy
// store is not a reason to give up on an operation early. The default, 0,
// charges the operation budget.
func WithSeparateBudget(limit time.Duration) KindOption {
	return kindOptionFunc(func(k Kind) Kind {
		k.separate = limit
		return k
	})
}

// NewKind makes a backoff kind. name identifies it in errors and metrics (keep
// it short and bounded: it is a metric label); err is the sentinel the final
// error wraps when an operation gives up while backing off for this kind (nil
// for none). The error wraps [ErrInvalidKind] or [ErrInvalidBackoff].
func NewKind(name string, curve Backoff, jitter JitterPolicy, err error, opts ...KindOption) (*Kind, error) {
	k := Kind{name: name, curve: curve, jitter: jitter, err: err}
	for _, o := range opts {
		if o != nil {
			k = o.applyKind(k)
		}
	}
	if verr := k.validate(); verr != nil {
		return nil, verr
	}
	return &k, nil
}

func (k Kind) validate() error {
	switch {
	case k.name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidKind)
	case !k.jitter.valid():
		return fmt.Errorf("%w %q: unknown jitter policy %v", ErrInvalidKind, k.name, k.jitter)
	case k.maxAttempts < 0:
		return fmt.Errorf("%w %q: negative max attempts %d", ErrInvalidKind, k.name, k.maxAttempts)
	case k.separate < 0:
		return fmt.Errorf("%w %q: negative separate budget %v", ErrInvalidKind, k.name, k.separate)
	}
	if err := k.curve.Validate(); err != nil {
		return fmt.Errorf("kind %q: %w", k.name, err)
	}
	return nil
}

// predefined builds the kinds in kinds.go. Their parameters are constants
// that the package's tests validate, so it does not check them again.
func predefined(name string, base, maxDelay time.Duration, jitter JitterPolicy, err error, opts ...KindOption) *Kind {
	k := Kind{name: name, curve: Backoff{Base: base, Max: maxDelay, Multiplier: 2}, jitter: jitter, err: err}
	for _, o := range opts {
		k = o.applyKind(k)
	}
	return &k
}

// WithBackoff returns a copy of k that uses curve instead: same name, jitter
// policy, sentinel and options. Use it to honour a user's configured curve
// (for example a different base for [TxnLockFast]). The copy is a distinct
// kind for a [Backoffer]'s delay sequences.
func (k *Kind) WithBackoff(curve Backoff) (*Kind, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidKind)
	}
	c := *k
	c.curve = curve
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// String returns the kind's name, for example "regionMiss".
func (k *Kind) String() string {
	if k == nil {
		return "<nil>"
	}
	return k.name
}

// Backoff returns the kind's delay curve.
func (k *Kind) Backoff() Backoff { return k.curve }

// Jitter returns the kind's jitter policy.
func (k *Kind) Jitter() JitterPolicy { return k.jitter }

// Err returns the sentinel an [*ExhaustedError] wraps when an operation gives
// up while backing off for this kind; nil if the kind has none.
func (k *Kind) Err() error { return k.err }

// MaxAttempts returns the per-Backoffer attempt limit; 0 means none.
func (k *Kind) MaxAttempts() int { return k.maxAttempts }

// SeparateBudget returns the limit of the separate sleep pool the kind is
// charged to; 0 means the kind is charged to the operation budget.
func (k *Kind) SeparateBudget() time.Duration { return k.separate }
