package logcheck

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

func TestFile(t *testing.T) {
	const src = `package p

import "log/slog"

type c struct{ logger *slog.Logger; log *slog.Logger }

func f(x c, err error, s string) {
	x.logger.Info("p: store reachable again", slog.Uint64("store_id", 1), slog.Any("error", err))
	x.log.Warn("p: keyed pairs", "region_id", 1, "error", err)
	x.logger.Info("store down")
	x.logger.Info("q: wrong package")
	x.log.Debug(s)
	x.logger.Info("p: ends with a period.")
	x.logger.Warn("p: failed", slog.Any("err", err))
	x.log.Info("p: pairs", "storeID", 1, "err", err)
	x.logger.LogAttrs(nil, slog.LevelInfo, "p: fine", slog.String("addr", s))
	slog.Info("p: global")
	other.Info("not a logger: ignored")
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(file(fset, f), "\n")
	for _, want := range []string{
		`p.go:10:16: log message "store down" does not start with "p: "`,
		`p.go:11:16: log message "q: wrong package" does not start with "p: "`,
		`p.go:12:14: log message is not a constant string`,
		`p.go:13:16: log message "p: ends with a period."`,
		`p.go:14:38: log attribute key "err": use "error"`,
		`p.go:15:25: log attribute key "storeID" is not snake_case`,
		`p.go:15:39: log attribute key "err": use "error"`,
		`p.go:17:2: slog.Info logs through the process-wide default logger`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 8 {
		t.Errorf("%d problems, want 8:\n%s", n, got)
	}
}
