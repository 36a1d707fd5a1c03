package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Unbounded is a budget that never runs out; the operation then ends only by
// its ctx, a non-retryable error or a kind's attempt limit.
const Unbounded time.Duration = 1<<63 - 1

// inlineKinds is how many kinds a Backoffer tracks without allocating; an
// operation rarely backs off for more than two or three.
const inlineKinds = 4

// recentCauses is how many causes an ExhaustedError reports (client-go keeps 3).
const recentCauses = 3

// Backoffer sleeps between the attempts of one operation. It keeps a delay
// sequence per [Kind] (exponential, capped, jittered), charges every sleep to
// the operation's total sleep budget, and when the next sleep would overrun the
// budget it returns an [*ExhaustedError] instead of sleeping: the sleeps
// charged to the budget never exceed it. (Unlike client-go, which checks the
// budget before a sleep and may overrun it by one sleep. Kinds with a separate
// pool, such as [ServerBusy], are charged to that pool instead.)
//
// Create one per operation with [New] and pass it down explicitly; it holds
// no ctx, each call takes one. For parallel sub-tasks use [Backoffer.Fork]
// (shared budget) or [Backoffer.Clone] (a copy of what is left).
//
// A Backoffer is safe for concurrent use, but concurrent callers of one
// Backoffer step through the same delay sequences; give each goroutine a
// fork. The zero value is a Backoffer with no budget: every backoff is
// refused.
type Backoffer struct {
	// budget and cfg are set by New and read-only afterwards; the account
	// copies them when it is created.
	budget time.Duration
	cfg    config
	// acct is the budget accounting, shared with forks. A root creates it
	// at its first backoff (or Fork, Clone, query), so that a Backoffer
	// that never backs off can stay on its creator's stack: a locked mutex
	// or an atomic pointer inside the Backoffer would make escape analysis
	// move every Backoffer to the heap. acctState publishes acct: 0 none,
	// 1 being created, 2 ready (acct is then immutable).
	acct      *account
	acctState atomic.Uint32
	// seqs and moreSeqs are this Backoffer's delay sequences, guarded by
	// the account's mutex. Fixed slots first, so that a Backoffer that
	// never backs off (or backs off for few kinds) allocates nothing.
	seqs     [inlineKinds]seqState
	moreSeqs []seqState
}

// seqState is where one kind's delay sequence stands.
type seqState struct {
	kind     *Kind
	attempts int
	last     time.Duration
}

// account is the budget accounting shared by a Backoffer and its forks.
type account struct {
	mu sync.Mutex
	ledger
}

// ledger is the copyable part of an account.
type ledger struct {
	cfg    config
	budget time.Duration
	// spent is charged to budget, sleeps in progress included, so that
	// concurrent forks cannot overrun it together.
	spent time.Duration
	// separate is charged to the pool of kinds with a separate budget.
	separate time.Duration
	// exhausted sticks once a backoff was refused for lack of budget.
	exhausted bool
	stats     [inlineKinds]kindStat
	moreStats []kindStat
	recent    [recentCauses]error
	nrecent   int
}

type kindStat struct {
	kind   *Kind
	sleeps int
	slept  time.Duration
}

// New returns a Backoffer for one operation whose sleeps may total at most
// budget ([Unbounded] for no limit; zero or less means never sleep, so the
// first backoff is refused). Budgets for client-go's operations are the
// constants [ReadBudget], [PrewriteBudget] and so on.
func New(budget time.Duration, opts ...Option) *Backoffer {
	b := new(Backoffer)
	b.init(budget, opts)
	return b
}

// Reset makes b what New(budget, opts...) returns: no sleeps, no counts,
// no causes, fresh delay sequences. It lets a caller that keeps the state of
// its operations for reuse keep the Backoffer too, instead of allocating one
// per operation. It must not be called while b is in use; forks and clones
// made before keep the old account and no longer share anything with b.
func (b *Backoffer) Reset(budget time.Duration, opts ...Option) {
	b.cfg = config{}
	b.acct = nil
	b.acctState.Store(acctNone)
	b.seqs = [inlineKinds]seqState{}
	b.moreSeqs = nil
	b.init(budget, opts)
}

func (b *Backoffer) init(budget time.Duration, opts []Option) {
	b.budget = max(budget, 0)
	for _, o := range opts {
		if o != nil {
			b.cfg = o.apply(b.cfg)
		}
	}
}

const (
	acctNone = iota
	acctCreating
	acctReady
)

// account returns b's account, creating it on first use.
func (b *Backoffer) account() *account {
	for {
		switch b.acctState.Load() {
		case acctReady:
			return b.acct
		case acctNone:
			if b.acctState.CompareAndSwap(acctNone, acctCreating) {
				a := new(account)
				a.budget, a.cfg = b.budget, b.cfg
				b.acct = a
				b.acctState.Store(acctReady)
				return a
			}
		default:
			// Another goroutine is allocating the account; that takes
			// nanoseconds, and only the first backoff of a Backoffer
			// used concurrently from its start can get here.
			runtime.Gosched()
		}
	}
}

// withAccount returns a Backoffer that uses a, which must be ready.
func withAccount(a *account) *Backoffer {
	b := &Backoffer{budget: a.budget, cfg: a.cfg, acct: a}
	b.acctState.Store(acctReady)
	return b
}

// Fork returns a Backoffer for a parallel sub-task that shares b's budget:
// sleeps of b and of all its forks are charged to one account, safely from
// many goroutines, and once it is spent every one of them is refused. The fork
// starts its own delay sequences (its first backoff of a kind uses the kind's
// base) and shares b's options.
//
// Use Fork when the sub-tasks together are the operation, for example the
// batches of one prewrite: the operation's budget bounds them all.
func (b *Backoffer) Fork() *Backoffer {
	return withAccount(b.account())
}

// Clone returns an independent Backoffer whose budget, sleep total, counts
// and recent causes are a copy of b's at the time of the call: it may sleep
// whatever b had left, and its sleeps are not charged to b. It starts its own
// delay sequences; its jitter source, if set by [WithRand], is derived from
// b's.
//
// Use Clone when a sub-task outlives or runs beside the operation with its
// own deadline, for example committing secondaries in the background after
// the primary committed: it should not be starved by, nor starve, its
// siblings.
func (b *Backoffer) Clone() *Backoffer {
	a := b.account()
	ca := new(account)
	a.mu.Lock()
	ca.ledger = a.ledger
	ca.moreStats = append([]kindStat(nil), a.moreStats...)
	if r := a.cfg.rnd; r != nil {
		ca.cfg.rnd = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
	}
	a.mu.Unlock()
	return withAccount(ca)
}

// Backoff sleeps before the next attempt of an operation that failed with
// cause, for as long as kind's delay sequence says. It returns nil after the
// sleep; an [*InterruptedError] wrapping ctx.Err() at once when ctx is or
// becomes done (the unslept part is not charged); or, without sleeping, an
// [*ExhaustedError] wrapping cause when the sleep would overrun the budget or
// kind reached its attempt limit.
func (b *Backoffer) Backoff(ctx context.Context, kind *Kind, cause error) error {
	return b.backoff(ctx, kind, -1, nil, cause)
}

// BackoffAtMost is [Backoffer.Backoff] with no single sleep longer than
// maxSleep (zero or less: do not sleep, but still count the attempt). Reads
// blocked by a lock use it with [TxnLockFast] to wake when the lock expires.
// The delay sequence advances as if the sleep had not been capped.
func (b *Backoffer) BackoffAtMost(ctx context.Context, kind *Kind, maxSleep time.Duration, cause error) error {
	return b.backoff(ctx, kind, max(maxSleep, 0), nil, cause)
}

// BackoffOrWake is [Backoffer.Backoff] that also ends the sleep, returning
// nil, when wake is closed (or receives), for example when a new PD leader is
// known and waiting longer is pointless. Only the time actually slept is
// charged. A nil wake never fires.
func (b *Backoffer) BackoffOrWake(ctx context.Context, kind *Kind, wake <-chan struct{}, cause error) error {
	return b.backoff(ctx, kind, -1, wake, cause)
}

// backoff is the one implementation; limit < 0 means no per-call cap.
func (b *Backoffer) backoff(ctx context.Context, k *Kind, limit time.Duration, wake <-chan struct{}, cause error) error {
	if k == nil {
		return errors.Join(fmt.Errorf("%w: nil", ErrInvalidKind), cause)
	}
	a := b.account()
	if err := ctx.Err(); err != nil {
		ie := &InterruptedError{Kind: k, Err: err, Cause: cause}
		if obs := a.cfg.observer; obs != nil {
			a.mu.Lock()
			ev := BackoffEvent{Kind: k, Attempt: b.seq(k).attempts + 1, Total: a.spent + a.separate, Outcome: OutcomeInterrupted, Cause: cause}
			a.mu.Unlock()
			obs(ev)
		}
		return ie
	}

	a.mu.Lock()
	a.record(cause)
	s := b.seq(k)
	ev := BackoffEvent{Kind: k, Attempt: s.attempts + 1, Cause: cause}
	raw := nextDelay(k.curve, k.jitter, s.attempts, s.last, randSource{a.cfg.rnd})
	d := raw
	if limit >= 0 && d > limit {
		d = limit
	}
	ev.Delay = d

	var reason error
	switch {
	case k.maxAttempts > 0 && s.attempts >= k.maxAttempts:
		reason = ErrMaxAttempts
	case k.separate > 0:
		if a.exhausted || d > max(k.separate, a.budget)-a.separate {
			reason = ErrBudgetExhausted
		}
	default:
		if rem := a.budget - a.spent; a.exhausted || rem <= 0 || d > rem {
			a.exhausted = true
			reason = ErrBudgetExhausted
		}
	}
	if reason != nil {
		err := a.exhaustedError(k, reason, cause)
		ev.Total, ev.Outcome = err.Slept, OutcomeExhausted
		a.mu.Unlock()
		if obs := a.cfg.observer; obs != nil {
			obs(ev)
		}
		return err
	}

	// Charge the whole delay before sleeping, so that concurrent forks
	// see it; refund what was not slept.
	s.attempts++
	s.last = raw
	a.charge(k, d)
	a.stat(k).sleeps++
	ev.Total = a.spent + a.separate
	a.mu.Unlock()

	slept, outcome := sleep(ctx, d, wake)
	if slept < d {
		a.mu.Lock()
		a.charge(k, slept-d)
		ev.Total = a.spent + a.separate
		a.mu.Unlock()
	}
	ev.Slept, ev.Outcome = slept, outcome
	if obs := a.cfg.observer; obs != nil {
		obs(ev)
	}
	if outcome == OutcomeInterrupted {
		return &InterruptedError{Kind: k, Err: ctx.Err(), Slept: slept, Cause: cause}
	}
	return nil
}

// sleep waits d, or less when ctx is done or wake fires, and reports how
// long it waited and why it stopped.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) (time.Duration, Outcome) {
	if d <= 0 {
		return 0, OutcomeSlept
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, OutcomeSlept
	case <-ctx.Done():
		return min(time.Since(start), d), OutcomeInterrupted
	case <-wake:
		return min(time.Since(start), d), OutcomeWoken
	}
}

// seq returns b's delay sequence for k, adding it if new. The caller holds
// the account's mutex, and the pointer is valid only while it does.
func (b *Backoffer) seq(k *Kind) *seqState {
	for i := range b.seqs {
		switch b.seqs[i].kind {
		case k:
			return &b.seqs[i]
		case nil:
			b.seqs[i].kind = k
			return &b.seqs[i]
		}
	}
	for i := range b.moreSeqs {
		if b.moreSeqs[i].kind == k {
			return &b.moreSeqs[i]
		}
	}
	b.moreSeqs = append(b.moreSeqs, seqState{kind: k})
	return &b.moreSeqs[len(b.moreSeqs)-1]
}

// stat returns the account's statistics for k, adding them if new; the
// caller holds the mutex.
func (l *ledger) stat(k *Kind) *kindStat {
	for i := range l.stats {
		switch l.stats[i].kind {
		case k:
			return &l.stats[i]
		case nil:
			l.stats[i].kind = k
			return &l.stats[i]
		}
	}
	for i := range l.moreStats {
		if l.moreStats[i].kind == k {
			return &l.moreStats[i]
		}
	}
	l.moreStats = append(l.moreStats, kindStat{kind: k})
	return &l.moreStats[len(l.moreStats)-1]
}

// charge adds d (negative to refund) to k's pool and statistics.
func (l *ledger) charge(k *Kind, d time.Duration) {
	if k.separate > 0 {
		l.separate += d
	} else {
		l.spent += d
	}
	l.stat(k).slept += d
}

func (l *ledger) record(cause error) {
	l.recent[l.nrecent%recentCauses] = cause
	l.nrecent++
}

// tries lists the kinds that slept, in order of first use.
func (l *ledger) tries() []KindStats {
	var out []KindStats
	add := func(s kindStat) {
		if s.kind != nil && s.sleeps > 0 {
			out = append(out, KindStats{Kind: s.kind, Sleeps: s.sleeps, Slept: s.slept})
		}
	}
	for _, s := range l.stats {
		add(s)
	}
	for _, s := range l.moreStats {
		add(s)
	}
	return out
}

func (l *ledger) exhaustedError(k *Kind, reason, cause error) *ExhaustedError {
	e := &ExhaustedError{
		Kind:   k,
		Reason: reason,
		Budget: l.budget,
		Slept:  l.spent + l.separate,
		Tries:  l.tries(),
		Cause:  cause,
	}
	var longest time.Duration
	for _, t := range e.Tries {
		if t.Kind.separate == 0 && t.Slept > longest {
			e.Longest, longest = t.Kind, t.Slept
		}
	}
	n := min(l.nrecent, recentCauses)
	e.Recent = make([]error, n)
	for i := range n {
		e.Recent[i] = l.recent[(l.nrecent-n+i)%recentCauses]
	}
	return e
}

// Budget returns the operation's sleep budget.
func (b *Backoffer) Budget() time.Duration {
	a := b.account()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.budget
}

// Slept returns how long the operation has slept: every Backoffer sharing
// its budget, separate pools and sleeps in progress included.
func (b *Backoffer) Slept() time.Duration {
	a := b.account()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.spent + a.separate
}

// Remaining returns how much of the budget is left (sleeps in progress are
// already charged); zero once a backoff was refused for lack of budget.
func (b *Backoffer) Remaining() time.Duration {
	a := b.account()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exhausted {
		return 0
	}
	return max(a.budget-a.spent, 0)
}

// Attempts returns how many times this Backoffer (not its forks) has backed
// off for kind, interrupted sleeps included and refused ones not.
func (b *Backoffer) Attempts(kind *Kind) int {
	a := b.account()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range b.seqs {
		if s.kind == kind {
			return s.attempts
		}
	}
	for _, s := range b.moreSeqs {
		if s.kind == kind {
			return s.attempts
		}
	}
	return 0
}

// Tries returns, for every kind the operation slept for (across all
// Backoffers sharing its budget), how often and how long, in order of first
// use.
func (b *Backoffer) Tries() []KindStats {
	a := b.account()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tries()
}
