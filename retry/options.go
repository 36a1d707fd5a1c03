package retry

import "math/rand/v2"

// Option configures a [Backoffer] made by [New] (or by [Do]). Options are
// sealed: only this package implements them.
type Option interface {
	// apply takes and returns the config by value so that New, which
	// cannot see which implementation it calls, keeps its Backoffer off
	// the heap.
	apply(c config) config
}

// config holds what options set; it is shared by a Backoffer's forks.
type config struct {
	observer func(BackoffEvent)
	rnd      *rand.Rand
}

type randOption struct{ r *rand.Rand }

func (o randOption) apply(c config) config {
	c.rnd = o.r
	return c
}

// WithRand draws jitter from r instead of math/rand/v2's global source, so a
// test can seed it. The Backoffer serialises its use of r (forks share it;
// [Backoffer.Clone] derives a new one from it), but r must not be used
// elsewhere at the same time. Default: the global source. A nil r means the
// default.
func WithRand(r *rand.Rand) Option {
	return randOption{r: r}
}
