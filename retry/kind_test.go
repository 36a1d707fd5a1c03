package retry_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

const ms = time.Millisecond

// TestPredefinedKinds pins every predefined kind to client-go's numbers
// (config/retry/config.go; dataNotReady from v2.0.4).
func TestPredefinedKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind     *retry.Kind
		name     string
		base     time.Duration
		cap      time.Duration
		jitter   retry.JitterPolicy
		err      error
		separate time.Duration
	}{
		{retry.TiKVRPC, "tikvRPC", 100 * ms, 2000 * ms, retry.EqualJitter, retry.ErrTiKVServerTimeout, 0},
		{retry.PDRPC, "pdRPC", 500 * ms, 3000 * ms, retry.EqualJitter, retry.ErrPDServerTimeout, 0},
		{retry.RegionMiss, "regionMiss", 2 * ms, 500 * ms, retry.NoJitter, retry.ErrRegionUnavailable, 0},
		{retry.RegionScheduling, "regionScheduling", 2 * ms, 500 * ms, retry.NoJitter, retry.ErrRegionUnavailable, 0},
		{retry.RegionRecoveryInProgress, "regionRecoveryInProgress", 100 * ms, 10000 * ms, retry.EqualJitter, retry.ErrRecoveryInProgress, 0},
		{retry.RegionNotInitialized, "regionNotInitialized", 2 * ms, 1000 * ms, retry.NoJitter, retry.ErrRegionNotInitialized, 0},
		{retry.ServerBusy, "tikvServerBusy", 2000 * ms, 10000 * ms, retry.EqualJitter, retry.ErrServerIsBusy, 10 * time.Minute},
		{retry.DiskFull, "tikvDiskFull", 500 * ms, 5000 * ms, retry.NoJitter, retry.ErrDiskFull, 0},
		{retry.StaleCommand, "staleCommand", 2 * ms, 1000 * ms, retry.NoJitter, retry.ErrStaleCommand, 0},
		{retry.MaxTSNotSynced, "maxTsNotSynced", 2 * ms, 500 * ms, retry.NoJitter, retry.ErrMaxTimestampNotSynced, 0},
		{retry.IsWitness, "isWitness", 1000 * ms, 10000 * ms, retry.EqualJitter, retry.ErrIsWitness, 0},
		{retry.DataNotReady, "dataNotReady", 2 * ms, 2000 * ms, retry.NoJitter, retry.ErrDataIsNotReady, 0},
		{retry.TxnLock, "txnLock", 100 * ms, 3000 * ms, retry.EqualJitter, retry.ErrResolveLockTimeout, 0},
		{retry.TxnLockFast, "txnLockFast", 10 * ms, 3000 * ms, retry.EqualJitter, retry.ErrResolveLockTimeout, 0},
		{retry.TxnNotFound, "txnNotFound", 2 * ms, 500 * ms, retry.NoJitter, retry.ErrResolveLockTimeout, 0},
		{retry.CommitTSLag, "commitTSLag", 2 * ms, 500 * ms, retry.NoJitter, retry.ErrCommitTSLag, 0},
		{retry.Default, "default", retry.DefaultBackoff.Base, retry.DefaultBackoff.Max, retry.ProportionalJitter, nil, 0},
	}
	if got, want := len(retry.Kinds()), len(tests); got != want {
		t.Fatalf("Kinds() has %d kinds, the table %d", got, want)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := tt.kind
			if retry.Kinds()[i] != k {
				t.Errorf("Kinds()[%d] = %v, want %v", i, retry.Kinds()[i], k)
			}
			if k.String() != tt.name {
				t.Errorf("String() = %q, want %q", k.String(), tt.name)
			}
			c := k.Backoff()
			if c.Base != tt.base || c.Max != tt.cap {
				t.Errorf("curve = %v..%v, want %v..%v", c.Base, c.Max, tt.base, tt.cap)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("curve invalid: %v", err)
			}
			if k.Jitter() != tt.jitter {
				t.Errorf("Jitter() = %v, want %v", k.Jitter(), tt.jitter)
			}
			if k.Err() != tt.err {
				t.Errorf("Err() = %v, want %v", k.Err(), tt.err)
			}
			if k.SeparateBudget() != tt.separate {
				t.Errorf("SeparateBudget() = %v, want %v", k.SeparateBudget(), tt.separate)
			}
			if k.MaxAttempts() != 0 {
				t.Errorf("MaxAttempts() = %d, want 0 (client-go has no limit)", k.MaxAttempts())
			}
			// A predefined kind must survive NewKind's validation.
			if _, err := k.WithBackoff(c); err != nil {
				t.Errorf("WithBackoff(own curve): %v", err)
			}
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    retry.Backoff
		ok   bool
	}{
		{"default", retry.DefaultBackoff, true},
		{"zero base and max", retry.Backoff{}, true},
		{"multiplier zero means doubling", retry.Backoff{Base: ms, Max: 2 * ms}, true},
		{"multiplier one is constant", retry.Backoff{Base: ms, Max: ms, Multiplier: 1}, true},
		{"negative base", retry.Backoff{Base: -1, Max: ms}, false},
		{"max below base", retry.Backoff{Base: 2 * ms, Max: ms}, false},
		{"multiplier below one", retry.Backoff{Base: ms, Max: ms, Multiplier: 0.5}, false},
		{"multiplier NaN", retry.Backoff{Base: ms, Max: ms, Multiplier: math.NaN()}, false},
		{"multiplier infinite", retry.Backoff{Base: ms, Max: ms, Multiplier: math.Inf(1)}, false},
		{"negative jitter", retry.Backoff{Base: ms, Max: ms, Jitter: -0.1}, false},
		{"jitter above one", retry.Backoff{Base: ms, Max: ms, Jitter: 1.5}, false},
		{"jitter NaN", retry.Backoff{Base: ms, Max: ms, Jitter: math.NaN()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.b.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, retry.ErrInvalidBackoff) {
				t.Fatalf("Validate() = %v, want ErrInvalidBackoff", err)
			}
		})
	}
}

func TestNewKindValidation(t *testing.T) {
	t.Parallel()
	good := flat(ms)
	tests := []struct {
		name    string
		kname   string
		curve   retry.Backoff
		jitter  retry.JitterPolicy
		opts    []retry.KindOption
		wantErr error
	}{
		{"ok", "k", good, retry.EqualJitter, []retry.KindOption{retry.WithMaxAttempts(3), retry.WithSeparateBudget(time.Second), nil}, nil},
		{"empty name", "", good, retry.NoJitter, nil, retry.ErrInvalidKind},
		{"unknown jitter", "k", good, retry.JitterPolicy(42), nil, retry.ErrInvalidKind},
		{"negative attempts", "k", good, retry.NoJitter, []retry.KindOption{retry.WithMaxAttempts(-1)}, retry.ErrInvalidKind},
		{"negative separate budget", "k", good, retry.NoJitter, []retry.KindOption{retry.WithSeparateBudget(-1)}, retry.ErrInvalidKind},
		{"bad curve", "k", retry.Backoff{Base: 2, Max: 1}, retry.NoJitter, nil, retry.ErrInvalidBackoff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sentinel := errors.New("sentinel")
			k, err := retry.NewKind(tt.kname, tt.curve, tt.jitter, sentinel, tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || k != nil {
					t.Fatalf("NewKind = %v, %v; want nil, %v", k, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewKind: %v", err)
			}
			if k.String() != tt.kname || k.Err() != sentinel || k.Jitter() != tt.jitter || k.Backoff() != tt.curve ||
				k.MaxAttempts() != 3 || k.SeparateBudget() != time.Second {
				t.Fatalf("kind fields not kept: %v %v %v %v %d %v", k, k.Err(), k.Jitter(), k.Backoff(), k.MaxAttempts(), k.SeparateBudget())
			}
		})
	}
}

func TestKindWithBackoff(t *testing.T) {
	t.Parallel()
	curve := retry.Backoff{Base: 20 * ms, Max: time.Second, Multiplier: 2}
	k, err := retry.TxnLockFast.WithBackoff(curve)
	if err != nil {
		t.Fatal(err)
	}
	if k == retry.TxnLockFast || k.String() != "txnLockFast" || k.Err() != retry.ErrResolveLockTimeout ||
		k.Jitter() != retry.EqualJitter || k.Backoff() != curve {
		t.Fatalf("WithBackoff copy wrong: %v %v %v %v", k, k.Err(), k.Jitter(), k.Backoff())
	}
	if retry.TxnLockFast.Backoff().Base != 10*ms {
		t.Fatal("WithBackoff modified the original kind")
	}
	if _, err := retry.TxnLockFast.WithBackoff(retry.Backoff{Base: -1}); !errors.Is(err, retry.ErrInvalidBackoff) {
		t.Fatalf("invalid curve: err = %v", err)
	}
	var nilKind *retry.Kind
	if _, err := nilKind.WithBackoff(curve); !errors.Is(err, retry.ErrInvalidKind) {
		t.Fatalf("nil kind: err = %v", err)
	}
	if nilKind.String() != "<nil>" {
		t.Fatalf("nil kind String() = %q", nilKind.String())
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	for p, want := range map[retry.JitterPolicy]string{
		retry.NoJitter: "none", retry.FullJitter: "full", retry.EqualJitter: "equal",
		retry.DecorrelatedJitter: "decorrelated", retry.ProportionalJitter: "proportional",
		retry.JitterPolicy(9): "JitterPolicy(9)",
	} {
		if p.String() != want {
			t.Errorf("%d.String() = %q, want %q", uint8(p), p.String(), want)
		}
	}
	for o, want := range map[retry.Outcome]string{
		retry.OutcomeSlept: "slept", retry.OutcomeExhausted: "exhausted", retry.OutcomeInterrupted: "interrupted",
		retry.OutcomeWoken: "woken", retry.Outcome(7): "Outcome(7)",
	} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", uint8(o), o.String(), want)
		}
	}
}
