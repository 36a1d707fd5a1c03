package tikvsim_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestEncodeKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"empty", nil, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xF7}},
		{"one byte", []byte{1}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xF8}},
		{"eight bytes", []byte("12345678"), append([]byte("12345678\xff"), 0, 0, 0, 0, 0, 0, 0, 0, 0xF7)},
		{"nine bytes", []byte("123456789"), append([]byte("12345678\xff9"), 0, 0, 0, 0, 0, 0, 0, 0xF8)},
		{"keyspace prefix", []byte{'x', 0, 0, 1}, []byte{'x', 0, 0, 1, 0, 0, 0, 0, 0xFB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tikvsim.EncodeKey(tc.in)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("EncodeKey(%x) = %x, want %x", tc.in, got, tc.want)
			}
			dec, n, err := tikvsim.DecodeKey(append(got, 0xAA))
			if err != nil || n != len(got) || !bytes.Equal(dec, tc.in) {
				t.Fatalf("DecodeKey = %x, %d, %v", dec, n, err)
			}
		})
	}
}

func TestDecodeKeyRejectsMalformed(t *testing.T) {
	for name, in := range map[string][]byte{
		"truncated":   {1, 2, 3},
		"bad marker":  {0, 0, 0, 0, 0, 0, 0, 0, 0x10},
		"dirty pad":   {1, 0, 0, 0, 0, 0, 0, 9, 0xF8},
		"no terminal": {1, 2, 3, 4, 5, 6, 7, 8, 0xFF},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := tikvsim.DecodeKey(in); !errors.Is(err, tikvsim.ErrInvalidEncodedKey) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func FuzzEncodeKeyOrder(f *testing.F) {
	f.Add([]byte("a"), []byte("b"))
	f.Add([]byte("12345678"), []byte("123456780"))
	f.Add([]byte{}, []byte{0})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ea, eb := tikvsim.EncodeKey(a), tikvsim.EncodeKey(b)
		if got, want := bytes.Compare(ea, eb), bytes.Compare(a, b); got != want {
			t.Fatalf("order of %x,%x: encoded %d raw %d", a, b, got, want)
		}
		da, _, err := tikvsim.DecodeKey(ea)
		if err != nil || !bytes.Equal(da, a) {
			t.Fatalf("round trip %x: %x %v", a, da, err)
		}
		_, _, _ = tikvsim.DecodeKey(a) // never panics on arbitrary input
	})
}
