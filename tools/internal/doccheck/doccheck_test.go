package doccheck

import (
	"go/parser"
	"go/token"
	"reflect"
	"testing"
)

func TestFile(t *testing.T) {
	const src = `package p

// Documented is fine.
func Documented() {}

func Bare() {}

func unexported() {}

type T struct{}

// U is documented.
type U struct{}

func (U) Method() {}

func (u *U) unexportedMethod() {}

type hidden struct{}

func (hidden) Exported() {}

// Group documents its members.
const (
	A = 1
	B = 2
)

const (
	C = 3
	D = 4
)

const (
	// E is documented; F rides along.
	E = iota
	F
)

var V = 1

var W = 2 // W has a line comment.
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	got := File(fset, f)
	want := []string{
		"p.go:6:1: Bare",
		"p.go:10:6: T",
		"p.go:15:1: Method",
		"p.go:30:2: C",
		"p.go:31:2: D",
		"p.go:40:5: V",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
