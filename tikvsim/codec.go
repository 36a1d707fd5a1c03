package tikvsim

import (
	"errors"
	"fmt"
)

// ErrInvalidEncodedKey is returned by [DecodeKey] for bytes that are not a
// memcomparable-encoded key.
var ErrInvalidEncodedKey = errors.New("tikvsim: invalid encoded key")

const (
	encGroupSize = 8
	encMarker    = 0xFF
	encPad       = 0x00
)

// EncodeKey returns TiKV's memcomparable encoding of key: the key is cut into
// groups of 8 bytes, each group is padded with zero bytes to 8 and followed by
// the marker 0xFF minus the number of padding bytes. A key whose length is a
// multiple of 8 (the empty key included) ends with an all-zero group whose
// marker is 0xF7. The encoding keeps byte order, so encoded keys compare like
// the raw ones; transactional region boundaries are stored in this form.
func EncodeKey(key []byte) []byte {
	return appendEncodedKey(make([]byte, 0, (len(key)/encGroupSize+1)*(encGroupSize+1)), key)
}

func appendEncodedKey(dst, key []byte) []byte {
	for i := 0; i <= len(key); i += encGroupSize {
		rest := len(key) - i
		if rest >= encGroupSize {
			dst = append(dst, key[i:i+encGroupSize]...)
			dst = append(dst, encMarker)
			continue
		}
		pad := encGroupSize - rest
		dst = append(dst, key[i:]...)
		for range pad {
			dst = append(dst, encPad)
		}
		dst = append(dst, byte(encMarker-pad))
	}
	return dst
}

// DecodeKey reverses [EncodeKey]. It returns the decoded key and the number of
// input bytes consumed (the encoded key may be followed by a suffix, such as a
// timestamp); malformed input yields an error wrapping
// [ErrInvalidEncodedKey].
func DecodeKey(enc []byte) (key []byte, n int, err error) {
	key = make([]byte, 0, len(enc)/(encGroupSize+1)*encGroupSize)
	for {
		if len(enc)-n < encGroupSize+1 {
			return nil, 0, fmt.Errorf("%w: truncated group at offset %d", ErrInvalidEncodedKey, n)
		}
		group := enc[n : n+encGroupSize]
		marker := enc[n+encGroupSize]
		n += encGroupSize + 1
		pad := encMarker - int(marker)
		if pad == 0 {
			key = append(key, group...)
			continue
		}
		if pad < 0 || pad > encGroupSize {
			return nil, 0, fmt.Errorf("%w: bad marker %#x", ErrInvalidEncodedKey, marker)
		}
		for _, b := range group[encGroupSize-pad:] {
			if b != encPad {
				return nil, 0, fmt.Errorf("%w: non-zero padding", ErrInvalidEncodedKey)
			}
		}
		return append(key, group[:encGroupSize-pad]...), n, nil
	}
}

// firstKeyEncodedFrom returns the smallest key k with EncodeKey(k) >= b, for
// any bytes b. Whole groups (marker 0xFF) of b are copied. At the first other
// group g, a key of n < 8 more bytes encodes as g[:n], zeros and the marker
// 0xFF-(8-n), while every longer key starting with g encodes past b (its
// marker is 0xFF); so the answer ends with the shortest g[:n] that pads to g
// and whose marker beats b's (or ties with nothing of b left), else with g.
// A cut-off tail of b ends the answer with the tail minus trailing zeros.
func firstKeyEncodedFrom(b []byte) []byte {
	var k []byte
	for len(b) > encGroupSize {
		g, m := b[:encGroupSize], b[encGroupSize]
		b = b[encGroupSize+1:]
		if m == encMarker {
			k = append(k, g...)
			continue
		}
		n := len(g)
		for n > 0 && g[n-1] == encPad {
			n--
		}
		tie := encGroupSize - (encMarker - int(m)) // n whose marker equals m
		if len(b) > 0 {
			tie++
		}
		if n = max(n, tie); n > encGroupSize {
			n = encGroupSize
		}
		return append(k, g[:n]...)
	}
	for len(b) > 0 && b[len(b)-1] == encPad {
		b = b[:len(b)-1]
	}
	return append(k, b...)
}
