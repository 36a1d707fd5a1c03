package peer

import (
	"context"
	"fmt"
	"testing"

	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// Baselines of client-go v2.0.4 on tikvsim (and on its own in-process
// mocktikv), for issues 4-6 to compare tikvgo's clients with. Run with
//
//	cd peer && GOWORK=off go test -run '^$' -bench ClientGo -benchmem

func BenchmarkClientGoRawKV(b *testing.B) {
	c := startSim(b, tikvsim.Options{})
	raw := clientGoRawKV(b, c.PDAddrs())
	ctx := context.Background()
	val := make([]byte, 64)
	for _, op := range []string{"put", "get"} {
		b.Run(op, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := []byte(fmt.Sprintf("bench-raw-%06d", i%1024))
				i++
				var err error
				if op == "put" {
					err = raw.Put(ctx, key, val)
				} else {
					_, err = raw.Get(ctx, key)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkClientGoTxnKV(b *testing.B) {
	c := startSim(b, tikvsim.Options{})
	stores := []struct {
		name  string
		store *tikv.KVStore
	}{
		{"tikvsim", clientGoTxnKV(b, c.PDAddrs()).KVStore},
		{"mocktikv", clientGoOnMock(b)},
	}
	ctx := context.Background()
	val := make([]byte, 64)
	for _, s := range stores {
		for _, keys := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/commit-%dkeys", s.name, keys), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					txn, err := s.store.Begin()
					if err != nil {
						b.Fatal(err)
					}
					for k := range keys {
						if err := txn.Set([]byte(fmt.Sprintf("bench-txn-%06d-%02d", i%1024, k)), val); err != nil {
							b.Fatal(err)
						}
					}
					i++
					if err := txn.Commit(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
