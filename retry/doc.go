// Package retry owns backoff for every retry the tikvgo client makes: named
// backoff kinds for the error classes a TiKV client backs off on, a per-operation
// sleep budget, context-aware sleeping and a final error that reports what was
// tried.
//
// It does not decide whether an operation may be retried; callers decide that
// (reads on any retryable error, writes only when provably not applied) and use
// a Backoffer to wait between attempts. It depends on nothing but the standard
// library.
package retry
