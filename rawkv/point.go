package rawkv

import (
	"context"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// Get returns the value of key, or nil if the key does not exist (or has
// expired). An existing empty value comes back as a non-nil empty slice.
// Reads retry on every retryable failure.
func (c *Client) Get(ctx context.Context, key []byte, opts ...CallOption) ([]byte, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	w, err := c.checkKey(key)
	if err != nil {
		return nil, err
	}
	cf, err := c.checkCF(callOpts(opts).cf)
	if err != nil {
		return nil, err
	}
	st := c.getPool.get(c)
	defer c.getPool.put(st)
	st.msg = kvrpcpb.RawGetRequest{Context: &st.rctx, Key: w, Cf: cf}
	resp, err := c.route(ctx, w, &st.cl, st.req)
	if err != nil {
		return nil, err
	}
	m := resp.Message().(*kvrpcpb.RawGetResponse)
	if m.Error != "" {
		return nil, &ServerError{Cmd: string(kvrpc.CmdRawGet), Msg: m.Error}
	}
	if m.NotFound {
		return nil, nil
	}
	if m.Value == nil {
		return []byte{}, nil
	}
	return m.Value, nil
}

// Put writes value under key. With WithTTL the value expires after the TTL
// (API V1TTL and V2 only).
//
// A Put retries region errors (TiKV did not apply it) and, outside atomic
// mode, transport failures too: writing the same value again is harmless on
// its own, but a resent Put may land after a concurrent writer's value. In
// atomic mode a Put whose answer was lost is not resent. In both modes a
// Put that fails after any of its attempts may have reached a store (an
// answer lost, then a later attempt refused, or Close under the call)
// fails with ErrUndetermined wrapping the last cause.
func (c *Client) Put(ctx context.Context, key, value []byte, opts ...CallOption) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	w, err := c.checkKey(key)
	if err != nil {
		return err
	}
	if err := c.checkValue(value); err != nil {
		return err
	}
	co := callOpts(opts)
	cf, err := c.checkCF(co.cf)
	if err != nil {
		return err
	}
	ttl, err := c.ttlSeconds(co.ttl)
	if err != nil {
		return err
	}
	st := c.putPool.get(c)
	defer c.putPool.put(st)
	st.msg = kvrpcpb.RawPutRequest{Context: &st.rctx, Key: w, Value: value, Cf: cf, Ttl: ttl, ForCas: c.cfg.atomic}
	resp, err := c.route(ctx, w, &st.cl, st.req)
	if err != nil {
		return err
	}
	if m := resp.Message().(*kvrpcpb.RawPutResponse); m.Error != "" {
		return &ServerError{Cmd: string(kvrpc.CmdRawPut), Msg: m.Error}
	}
	return nil
}

// PutWithTTL is Put with WithTTL(ttl).
func (c *Client) PutWithTTL(ctx context.Context, key, value []byte, ttl time.Duration, opts ...CallOption) error {
	return c.Put(ctx, key, value, append(opts, WithTTL(ttl))...)
}

// Delete removes key. Deleting a missing key is not an error. Retries follow
// the rules of Put.
func (c *Client) Delete(ctx context.Context, key []byte, opts ...CallOption) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	w, err := c.checkKey(key)
	if err != nil {
		return err
	}
	cf, err := c.checkCF(callOpts(opts).cf)
	if err != nil {
		return err
	}
	resp, err := c.sendToKey(ctx, w, write, kvrpc.NewRawDelete(&kvrpcpb.RawDeleteRequest{Context: c.writeContext(), Key: w, Cf: cf, ForCas: c.cfg.atomic}))
	if err != nil {
		return err
	}
	if m := resp.Message().(*kvrpcpb.RawDeleteResponse); m.Error != "" {
		return &ServerError{Cmd: string(kvrpc.CmdRawDelete), Msg: m.Error}
	}
	return nil
}

// GetKeyTTL returns the remaining TTL of key (whole seconds; 0 when the key
// has no TTL) and whether the key exists. It needs API V1TTL or V2, else
// ErrTTLNotSupported.
func (c *Client) GetKeyTTL(ctx context.Context, key []byte, opts ...CallOption) (ttl time.Duration, found bool, err error) {
	if err := c.checkOpen(); err != nil {
		return 0, false, err
	}
	if !c.ttlEnabled() {
		return 0, false, ErrTTLNotSupported
	}
	w, err := c.checkKey(key)
	if err != nil {
		return 0, false, err
	}
	cf, err := c.checkCF(callOpts(opts).cf)
	if err != nil {
		return 0, false, err
	}
	resp, err := c.sendToKey(ctx, w, pointRead, kvrpc.NewRawGetKeyTTL(&kvrpcpb.RawGetKeyTTLRequest{Context: c.codec.Context(), Key: w, Cf: cf}))
	if err != nil {
		return 0, false, err
	}
	m := resp.Message().(*kvrpcpb.RawGetKeyTTLResponse)
	if m.Error != "" {
		return 0, false, &ServerError{Cmd: string(kvrpc.CmdRawGetKeyTTL), Msg: m.Error}
	}
	if m.NotFound {
		return 0, false, nil
	}
	return time.Duration(m.Ttl) * time.Second, true, nil
}

// CASResult is the outcome of CompareAndSwap.
type CASResult struct {
	// Previous is the value the key held when the CAS ran; nil when it did
	// not exist.
	Previous []byte
	// Existed reports whether the key existed.
	Existed bool
	// Swapped reports whether the new value was written.
	Swapped bool
}

// CompareAndSwap atomically writes newValue under key if the key currently
// holds expected; a nil expected means "the key must not exist" (an empty
// non-nil expected matches an existing empty value). It returns what the key
// held and whether the swap happened. WithTTL applies to the new value.
//
// CAS requires atomic mode (WithAtomicForCAS), else ErrCASNeedsAtomicMode
// without sending anything: TiKV serialises CAS only with writes that carry
// for_cas. A CAS whose answer was lost is never resent (it could swap twice)
// and fails with ErrUndetermined.
func (c *Client) CompareAndSwap(ctx context.Context, key, expected, newValue []byte, opts ...CallOption) (CASResult, error) {
	if err := c.checkOpen(); err != nil {
		return CASResult{}, err
	}
	if !c.cfg.atomic {
		return CASResult{}, ErrCASNeedsAtomicMode
	}
	w, err := c.checkKey(key)
	if err != nil {
		return CASResult{}, err
	}
	if err := c.checkValue(newValue); err != nil {
		return CASResult{}, err
	}
	co := callOpts(opts)
	cf, err := c.checkCF(co.cf)
	if err != nil {
		return CASResult{}, err
	}
	ttl, err := c.ttlSeconds(co.ttl)
	if err != nil {
		return CASResult{}, err
	}
	resp, err := c.sendToKey(ctx, w, write, kvrpc.NewRawCompareAndSwap(&kvrpcpb.RawCASRequest{
		Context: c.writeContext(), Key: w, Value: newValue, Cf: cf, Ttl: ttl,
		PreviousNotExist: expected == nil, PreviousValue: expected,
	}))
	if err != nil {
		return CASResult{}, err
	}
	m := resp.Message().(*kvrpcpb.RawCASResponse)
	if m.Error != "" {
		return CASResult{}, &ServerError{Cmd: string(kvrpc.CmdRawCompareAndSwap), Msg: m.Error}
	}
	res := CASResult{Swapped: m.Succeed, Existed: !m.PreviousNotExist}
	if res.Existed {
		res.Previous = m.PreviousValue
		if res.Previous == nil {
			res.Previous = []byte{}
		}
	}
	return res, nil
}

// writeContext is the request context of a write: it also bounds how long
// TiKV may spend executing it.
func (c *Client) writeContext() *kvrpcpb.Context {
	ctx := c.codec.Context()
	ctx.MaxExecutionDurationMs = uint64(writeExecutionLimit / time.Millisecond)
	return ctx
}

func serverErr(cmd kvrpc.CmdType, msg string) error {
	return &ServerError{Cmd: string(cmd), Msg: msg}
}
