package peer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Serve is a worker's main loop: it reads one JSON Case per line from in,
// runs it with [Run] and writes its Result as one JSON line to out, until
// in ends or ctx is done. Cases run one at a time, so a Result's
// allocations are those of that case alone.
func Serve(ctx context.Context, reg *Registry, client string, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c Case
		var res Result
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			res = Result{Client: client, Failed: fmt.Sprintf("bad case %q: %v", sc.Bytes(), err)}
		} else {
			res = Run(ctx, reg, client, c)
		}
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("peer: write result: %w", err)
		}
	}
	return sc.Err()
}
