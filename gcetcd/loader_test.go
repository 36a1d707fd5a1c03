package gcetcd_test

import (
	"context"
	"errors"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/tikvgo/tikvgo/gcetcd"
	"github.com/tikvgo/tikvgo/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeKV answers Get from a map; every other method is unused.
type fakeKV struct {
	clientv3.KV
	data map[string]string
	err  error
	got  []string
}

func (f *fakeKV) Get(_ context.Context, key string, _ ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	f.got = append(f.got, key)
	if f.err != nil {
		return nil, f.err
	}
	resp := &clientv3.GetResponse{}
	if v, ok := f.data[key]; ok {
		resp.Kvs = []*mvccpb.KeyValue{{Key: []byte(key), Value: []byte(v)}}
	}
	return resp, nil
}

func TestTxnSafePoint(t *testing.T) {
	boom := errors.New("etcd down")
	for _, tc := range []struct {
		name    string
		data    map[string]string
		err     error
		opts    []gcetcd.Option
		want    uint64
		wantKey string
		wantErr error
	}{
		{name: "missing is zero", wantKey: gcetcd.UnifiedKey},
		{name: "empty is zero", data: map[string]string{gcetcd.UnifiedKey: ""}, wantKey: gcetcd.UnifiedKey},
		{name: "decimal", data: map[string]string{gcetcd.UnifiedKey: "416997967863480321"}, want: 416997967863480321, wantKey: gcetcd.UnifiedKey},
		{name: "keyspace level", data: map[string]string{gcetcd.UnifiedKey: "5", gcetcd.KeyspaceKey(7): "9"},
			opts: []gcetcd.Option{gcetcd.WithKeyspaceLevelGC(7)}, want: 9, wantKey: "/keyspaces/tidb/7/tidb/store/gcworker/saved_safe_point"},
		{name: "hexadecimal is malformed", data: map[string]string{gcetcd.UnifiedKey: "5c8f"}, wantKey: gcetcd.UnifiedKey, wantErr: gcetcd.ErrMalformedSafePoint},
		{name: "etcd error", err: boom, wantKey: gcetcd.UnifiedKey, wantErr: boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := &fakeKV{data: tc.data, err: tc.err}
			l, err := gcetcd.New(kv, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.TxnSafePoint(t.Context())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("TxnSafePoint = %d, %v; want %d", got, err, tc.want)
			}
			if len(kv.got) != 1 || kv.got[0] != tc.wantKey || l.Key() != tc.wantKey {
				t.Fatalf("read keys %v (Key %q), want [%s]", kv.got, l.Key(), tc.wantKey)
			}
		})
	}
}

func TestNewRejectsNilKV(t *testing.T) {
	if _, err := gcetcd.New(nil); !errors.Is(err, retry.ErrInvalidOption) {
		t.Fatalf("New(nil) = %v, want ErrInvalidOption", err)
	}
}

func TestKeyspaceLevelGC(t *testing.T) {
	for cfg, want := range map[string]bool{
		"gc_management_type=keyspace_level": true,
		"safe_point_version=v2":             true,
		"gc_management_type=unified":        false,
		"":                                  false,
	} {
		m := map[string]string{}
		if k, v, ok := cut(cfg); ok {
			m[k] = v
		}
		if got := gcetcd.KeyspaceLevelGC(m); got != want {
			t.Errorf("KeyspaceLevelGC(%v) = %v, want %v", m, got, want)
		}
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
