package txnkv

import (
	"slices"
	"testing"
)

func TestDedupKeys(t *testing.T) {
	b := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	str := func(ks [][]byte) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = string(k)
		}
		return out
	}
	sorted := b("a", "b", "c")
	if got := dedupKeys(sorted); &got[0] != &sorted[0] || len(got) != 3 {
		t.Fatalf("strictly ascending keys were copied: %q", str(got))
	}
	for _, tc := range []struct{ in, want []string }{
		{[]string{"a", "a", "b"}, []string{"a", "b"}},
		{[]string{"c", "a", "c", "b", "a"}, []string{"c", "a", "b"}},
		{[]string{"b", "a"}, []string{"b", "a"}},
		{[]string{"", ""}, []string{""}},
	} {
		in := b(tc.in...)
		got := str(dedupKeys(in))
		if !slices.Equal(got, tc.want) {
			t.Errorf("dedupKeys(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !slices.Equal(str(in), tc.in) {
			t.Errorf("dedupKeys modified its input: %q", str(in))
		}
	}
}
