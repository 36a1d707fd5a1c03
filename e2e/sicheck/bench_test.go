package sicheck_test

import (
	"math/rand/v2"
	"testing"

	. "github.com/tikvgo/tikvgo/e2e/sicheck"
)

func BenchmarkCheckSerial10k(b *testing.B) {
	h := serialHistory(rand.New(rand.NewPCG(1, 0)), 10_000, 8)
	b.ReportAllocs()
	for b.Loop() {
		if res, err := Check(h); err != nil || !res.Valid() {
			b.Fatal(err, res)
		}
	}
}
