// Package retry owns backoff for every retry the tikvgo client makes: named
// backoff kinds for the error classes a TiKV client backs off on, a per-operation
// sleep budget, context-aware sleeping and a final error that reports what was
// tried.
//
// It does not decide whether an operation may be retried; callers decide that
// (reads on any retryable error, writes only when provably not applied) and use
// a Backoffer to wait between attempts. It depends on nothing but the standard
// library.
//
// # Usage
//
// Create a [Backoffer] per operation with its sleep budget, pass it down
// explicitly beside the ctx, and back off with the [Kind] that matches the
// failure:
//
//	bo := retry.New(retry.ReadBudget)
//	for {
//		resp, err := send(ctx, req)
//		if !needsRetry(err) { // the caller's decision, with a comment saying why it is safe
//			return resp, err
//		}
//		if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
//			return nil, err // *ExhaustedError or *InterruptedError
//		}
//	}
//
// For a single loop whose errors say whether they are retryable, [Do] does the
// same:
//
//	err := retry.Do(ctx, retry.Policy{Kind: retry.PDRPC, Budget: retry.TSOBudget}, fn)
//
// # Kinds and budgets
//
// The predefined kinds ([TiKVRPC], [PDRPC], [RegionMiss], [RegionScheduling],
// [ServerBusy], [TxnLock], [TxnLockFast], ...) carry client-go's base, cap and
// jitter policy, and the sentinel error reported when an operation gives up
// while backing off for them; kinds.go maps TiKV's region errors to them. Each
// kind has its own exponential sequence within a Backoffer; all kinds draw on
// the one budget, except kinds with a separate pool ([ServerBusy]). Budgets of
// client-go's operations are constants such as [ReadBudget] and
// [PrewriteBudget]. [Backoff] is the plain curve a user configures; [NewKind]
// and [Kind.WithBackoff] turn it into a kind.
//
// A Backoffer never sleeps past its budget: when the next delay would overrun
// it, Backoff returns an [*ExhaustedError] at once instead of sleeping, and
// the budget stays exhausted for the rest of the operation.
//
// # Concurrency
//
// Kinds are immutable. A Backoffer is safe for concurrent use; give each
// parallel sub-task its own [Backoffer.Fork] (one shared budget for the whole
// operation, charged atomically) or [Backoffer.Clone] (an independent copy of
// what is left, for work that outlives or runs beside the operation). An
// observer set with [WithObserver] is called synchronously, with no lock held,
// possibly from several goroutines.
//
// # Errors
//
// Backoff and Do return:
//   - [*ExhaustedError] when the budget or a kind's attempt limit is spent.
//     errors.Is sees [ErrBudgetExhausted] or [ErrMaxAttempts], the sentinels
//     of the kind backed off for and of the kind that slept longest (for
//     example [ErrRegionUnavailable]), and the last cause; errors.As reaches
//     the cause's types.
//   - [*InterruptedError] when the ctx is done: errors.Is sees ctx.Err()
//     (context.Canceled or context.DeadlineExceeded) and the cause. The sleep
//     ends at once and only the time actually slept is charged.
//
// Neither is retryable: [IsRetryable] (errors.As on a Retryable() bool
// method) reports false for them even when their cause is retryable, so an
// outer loop does not retry what an inner loop gave up on. [KindOf] lets an
// error name the kind [Do] should back off with.
//
// The module is also the home of the error vocabulary every module shares,
// because every module may import it: [ErrInvalidOption], [ErrClosed],
// [ErrInvalidRange] and [ErrUnexpectedResponse], and the region conditions a
// kind is named after ([ErrServerIsBusy], [ErrDiskFull], ...), which package
// locate's region errors match too. Other modules re-export these values
// rather than define their own; docs/errors.md lists every error of the
// workspace.
//
// Jitter is drawn from math/rand/v2 unless [WithRand] supplies a seeded
// source. Sleeps use the time package's timers, so tests run them on the
// fake clock of testing/synctest.
package retry
