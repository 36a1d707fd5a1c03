package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff describes an exponential delay curve. The delay before retry n
// (counting from 0) is Base·Multiplier^n, capped at Max, then randomised by
// the jitter policy of the [Kind] that uses the curve.
//
// Backoff is a plain value: copy it, compare it, keep it in configuration.
// The zero value is not a usable curve; start from [DefaultBackoff] or fill
// every field and check it with [Backoff.Validate].
type Backoff struct {
	// Base is the first delay. It must not be negative; zero makes every
	// delay zero (immediate retries, bounded only by attempts and ctx).
	Base time.Duration
	// Max caps every delay. It must be at least Base.
	Max time.Duration
	// Multiplier is the growth factor per retry. Zero means 2 (the doubling
	// TiKV and client-go use); any other value must be at least 1.
	Multiplier float64
	// Jitter is the fraction, in [0, 1], by which [ProportionalJitter]
	// spreads each delay: the delay is multiplied by a uniform factor in
	// [1-Jitter, 1+Jitter] and capped at Max. The TiKV jitter policies
	// ignore it.
	Jitter float64
}

// DefaultBackoff is the curve used when a caller configures nothing: the
// same 100 ms base, 2 s cap and doubling as TiKV RPC retries, spread by ±20%.
// It is a value; modifying the variable affects only code that reads it later.
var DefaultBackoff = Backoff{
	Base:       100 * time.Millisecond,
	Max:        2 * time.Second,
	Multiplier: 2,
	Jitter:     0.2,
}

// Validate reports whether b is a usable curve. The error wraps
// [ErrInvalidBackoff].
func (b Backoff) Validate() error {
	switch {
	case b.Base < 0:
		return fmt.Errorf("%w: negative Base %v", ErrInvalidBackoff, b.Base)
	case b.Max < b.Base:
		return fmt.Errorf("%w: Max %v below Base %v", ErrInvalidBackoff, b.Max, b.Base)
	case b.Multiplier != 0 && !(b.Multiplier >= 1) || math.IsInf(b.Multiplier, 0):
		return fmt.Errorf("%w: Multiplier %v (want 0 or a finite value >= 1)", ErrInvalidBackoff, b.Multiplier)
	case !(b.Jitter >= 0 && b.Jitter <= 1):
		return fmt.Errorf("%w: Jitter %v outside [0, 1]", ErrInvalidBackoff, b.Jitter)
	}
	return nil
}

// exponential returns min(Max, Base·Multiplier^n) without overflowing.
func (b Backoff) exponential(n int) time.Duration {
	m := b.Multiplier
	if m == 0 {
		m = 2
	}
	v := float64(b.Base) * math.Pow(m, float64(n))
	if v >= float64(b.Max) || math.IsNaN(v) {
		return b.Max
	}
	return time.Duration(v)
}

// JitterPolicy says how a [Kind] randomises the delays of its curve. The four
// TiKV policies follow the AWS architecture blog's "Exponential Backoff And
// Jitter", as TiKV and client-go do; [ProportionalJitter] is grpc's.
type JitterPolicy uint8

const (
	// NoJitter sleeps exactly min(Max, Base·Multiplier^n). It is the zero
	// value.
	NoJitter JitterPolicy = iota
	// FullJitter sleeps a uniform random duration in [0, v) where v is the
	// NoJitter delay: the widest spread, occasionally very short.
	FullJitter
	// EqualJitter sleeps v/2 plus a uniform random duration in [0, v/2):
	// spread like FullJitter but never shorter than half the curve.
	EqualJitter
	// DecorrelatedJitter sleeps min(Max, Base + a uniform random duration in
	// [0, 3·last−Base)), where last is the previous sleep of the same kind
	// (Base before the first). It ignores Multiplier.
	DecorrelatedJitter
	// ProportionalJitter multiplies v by a uniform factor in
	// [1−Jitter, 1+Jitter] (Backoff.Jitter) and caps the result at Max.
	ProportionalJitter
)

// String returns the policy's name: "none", "full", "equal", "decorrelated"
// or "proportional".
func (p JitterPolicy) String() string {
	switch p {
	case NoJitter:
		return "none"
	case FullJitter:
		return "full"
	case EqualJitter:
		return "equal"
	case DecorrelatedJitter:
		return "decorrelated"
	case ProportionalJitter:
		return "proportional"
	}
	return fmt.Sprintf("JitterPolicy(%d)", uint8(p))
}

func (p JitterPolicy) valid() bool { return p <= ProportionalJitter }

// randSource draws uniform durations. A nil *rand.Rand means the
// goroutine-safe top-level functions of math/rand/v2.
type randSource struct{ r *rand.Rand }

// below returns a uniform duration in [0, n); zero when n <= 0.
func (s randSource) below(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	if s.r != nil {
		return time.Duration(s.r.Int64N(int64(n)))
	}
	return time.Duration(rand.Int64N(int64(n)))
}

// unit returns a uniform float64 in [0, 1).
func (s randSource) unit() float64 {
	if s.r != nil {
		return s.r.Float64()
	}
	return rand.Float64()
}

// nextDelay computes the delay for retry n of a kind whose previous sleep
// was last (Base before the first), following policy p.
func nextDelay(b Backoff, p JitterPolicy, n int, last time.Duration, rnd randSource) time.Duration {
	switch p {
	case FullJitter:
		return rnd.below(b.exponential(n))
	case EqualJitter:
		v := b.exponential(n)
		return v/2 + rnd.below(v/2)
	case DecorrelatedJitter:
		if last < b.Base {
			last = b.Base
		}
		// 3·last cannot overflow in practice: last <= Max, and a Max
		// above a third of ~292 years is not a backoff.
		d := b.Base + rnd.below(3*last-b.Base)
		return min(d, b.Max)
	case ProportionalJitter:
		v := float64(b.exponential(n))
		d := v * (1 + b.Jitter*(2*rnd.unit()-1))
		if d >= float64(b.Max) {
			return b.Max
		}
		return time.Duration(d)
	default:
		return b.exponential(n)
	}
}
