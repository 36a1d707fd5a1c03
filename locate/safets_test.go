package locate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
)

type fakeRPCForSafeTS struct{}

func (fakeRPCForSafeTS) Send(context.Context, string, *kvrpc.Request) (*kvrpc.Response, error) {
	return nil, errors.New("unused")
}

func TestSafeTSUpdateRejectsNegativeInterval(t *testing.T) {
	t.Parallel()
	c := newCache(t, newFakePD())
	for name, o := range map[string]locate.UpkeepOption{
		"negative interval": locate.WithSafeTSUpdate(fakeRPCForSafeTS{}, -time.Second),
		"nil client":        locate.WithSafeTSUpdate(nil, time.Second),
	} {
		if _, err := c.StartUpkeep(o); !errors.Is(err, locate.ErrInvalidOption) {
			t.Fatalf("%s: StartUpkeep = %v, want ErrInvalidOption", name, err)
		}
	}
}
