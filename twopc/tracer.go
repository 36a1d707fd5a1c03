package twopc

import (
	"context"

	"github.com/tikvgo/tikvgo/tso"
)

// Tracer observes commits, pgx-style: CommitStart may return a derived ctx
// (a span) that CommitEnd receives. Implementations must be safe for
// concurrent use. A tracer may also implement [ResolveTracer].
type Tracer interface {
	CommitStart(ctx context.Context, data CommitStartData) context.Context
	CommitEnd(ctx context.Context, data CommitEndData)
}

// ResolveTracer is the optional part of a [Tracer] that observes lock
// resolution.
type ResolveTracer interface {
	ResolveStart(ctx context.Context, data ResolveStartData) context.Context
	ResolveEnd(ctx context.Context, data ResolveEndData)
}

// CommitStartData describes a commit about to run.
type CommitStartData struct {
	StartTS tso.Timestamp
	// Keys and Size count the mutations and their key+value bytes.
	Keys, Size int
	// AsyncCommit and OnePC report what the caller asked for.
	AsyncCommit, OnePC bool
	Pessimistic        bool
}

// CommitEndData describes how a commit ended.
type CommitEndData struct {
	StartTS  tso.Timestamp
	CommitTS tso.Timestamp // 0 on error
	Mode     Mode
	FellBack bool
	Err      error
}

// ResolveStartData describes a lock resolution about to run.
type ResolveStartData struct {
	Locks   int
	ForRead bool
}

// ResolveEndData describes how a lock resolution ended.
type ResolveEndData struct {
	Result ResolveResult
	Err    error
}

// WithTracer installs t. Default: none (one nil check per commit).
func WithTracer(t Tracer) Option { return optionFunc(func(c *config) { c.tracer = t }) }
