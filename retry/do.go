package retry

import (
	"context"
	"time"
)

// Policy says how [Do] retries. The zero Policy runs fn once: with no budget
// there is nothing to sleep on.
type Policy struct {
	// Kind is the backoff kind used after a retryable error that does not
	// name its own (see [KindOf]). Nil means [Default].
	Kind *Kind
	// Budget is the total sleep allowed across all attempts, as for [New].
	Budget time.Duration
	// Options configure the Backoffer Do creates, for example
	// [WithObserver].
	Options []Option
}

// Do calls fn until it succeeds, backing off between attempts. It stops and
// returns
//   - nil when fn returns nil;
//   - fn's error when it is not retryable ([IsRetryable] is false: errors are
//     not retried unless they say so);
//   - an [*ExhaustedError] wrapping fn's last error when the budget runs out;
//   - an [*InterruptedError] wrapping ctx.Err() and fn's last error when ctx
//     is done while waiting (ctx.Err() itself if it is done before the first
//     call).
//
// fn receives ctx and must honour it. A Do that succeeds at once allocates
// nothing.
func Do(ctx context.Context, p Policy, fn func(context.Context) error) error {
	var b Backoffer
	b.init(p.Budget, p.Options)
	return b.Do(ctx, p.Kind, fn)
}

// Do is [Do] on an existing Backoffer: the attempts are charged to b's
// budget, so several retry loops of one operation can share it. kind is used
// for retryable errors that name none; nil means [Default].
func (b *Backoffer) Do(ctx context.Context, kind *Kind, fn func(context.Context) error) error {
	if kind == nil {
		kind = Default
	}
	var last error
	k := kind
	for {
		if err := ctx.Err(); err != nil {
			if last == nil {
				return err
			}
			return &InterruptedError{Kind: k, Err: err, Cause: last}
		}
		err := fn(ctx)
		if err == nil || !IsRetryable(err) {
			return err
		}
		last = err
		k = kind
		if ek := KindOf(err); ek != nil {
			k = ek
		}
		if berr := b.Backoff(ctx, k, err); berr != nil {
			return berr
		}
	}
}
