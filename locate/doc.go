// Package locate owns the region cache (regions by start key, epochs, leaders,
// peers, stores and buckets), replica selection and the region request sender
// that turns region errors into cache updates and backoff.
//
// It does not speak transaction or raw-KV semantics; rawkv, twopc and txnkv
// build requests and hand them to locate to route.
package locate
