package retry

import (
	"strconv"
	"time"
)

type observerOption func(BackoffEvent)

func (o observerOption) apply(c config) config {
	c.observer = o
	return c
}

// WithObserver calls fn after every backoff, whether it slept, was refused
// or was interrupted; use it for metrics and tracing. fn runs synchronously on
// the goroutine that backed off, after the sleep, with no lock held; Backoffers
// forked from one another call it concurrently. Default: none, which costs one
// nil check per backoff. A nil fn means none.
func WithObserver(fn func(BackoffEvent)) Option {
	return observerOption(fn)
}

// Outcome is what a backoff did.
type Outcome uint8

const (
	// OutcomeSlept means the backoff slept its full delay.
	OutcomeSlept Outcome = iota
	// OutcomeExhausted means the backoff was refused (budget or attempts
	// exhausted) and returned an [*ExhaustedError] without sleeping.
	OutcomeExhausted
	// OutcomeInterrupted means the ctx ended the sleep (or was already
	// done) and the backoff returned an [*InterruptedError].
	OutcomeInterrupted
	// OutcomeWoken means the wake channel of
	// [Backoffer.BackoffOrWake] ended the sleep early.
	OutcomeWoken
)

// String returns "slept", "exhausted", "interrupted" or "woken".
func (o Outcome) String() string {
	switch o {
	case OutcomeSlept:
		return "slept"
	case OutcomeExhausted:
		return "exhausted"
	case OutcomeInterrupted:
		return "interrupted"
	case OutcomeWoken:
		return "woken"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// BackoffEvent describes one backoff, for an observer ([WithObserver]).
// Kind names are bounded, so Kind.String() is a safe metric label; Cause is
// not a label.
type BackoffEvent struct {
	// Kind is the kind backed off for.
	Kind *Kind
	// Attempt is the 1-based number of this backoff for Kind on the
	// Backoffer that made it.
	Attempt int
	// Delay is the sleep the backoff chose (after jitter and any per-call
	// cap); for a refused backoff, the sleep it would have taken.
	Delay time.Duration
	// Slept is how long it actually slept.
	Slept time.Duration
	// Total is the operation's total sleep after this backoff, across all
	// Backoffers sharing its budget.
	Total time.Duration
	// Outcome says whether it slept, was refused or was interrupted.
	Outcome Outcome
	// Cause is the error backed off for.
	Cause error
}
