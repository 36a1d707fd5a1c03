package mvcc_test

import (
	"context"
	"reflect"
	"testing"
)

// TestHandlers_NoPanicOnEmptyRequests calls every request handler with a nil
// request and with an empty one: each must answer, never panic.
func TestHandlers_NoPanicOnEmptyRequests(t *testing.T) {
	e := newEngine(t)
	ctxType := reflect.TypeFor[context.Context]()
	v := reflect.ValueOf(e)
	called := 0
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		mt := m.Type // includes the receiver
		if mt.NumIn() != 3 || mt.In(1) != ctxType || mt.In(2).Kind() != reflect.Pointer || mt.NumOut() != 1 {
			continue
		}
		for _, req := range []reflect.Value{reflect.Zero(mt.In(2)), reflect.New(mt.In(2).Elem())} {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s panicked: %v", m.Name, p)
					}
				}()
				out := v.Method(i).Call([]reflect.Value{reflect.ValueOf(t.Context()), req})
				if out[0].IsNil() {
					t.Errorf("%s returned a nil response", m.Name)
				}
			}()
		}
		called++
	}
	if called < 31 {
		t.Fatalf("only %d handlers found", called)
	}
	mustInvariants(t, e)
}
