package cli

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"text/tabwriter"
	"unicode/utf8"
)

// printer writes one command's result, either as aligned text columns or as
// one JSON document on one line (so a shell session in JSON mode is a stream
// of newline-delimited documents).
type printer struct {
	w      io.Writer
	format string
}

// emit writes doc as JSON, or calls text with a tabwriter whose cells are
// separated by '\t' and which is flushed afterwards.
func (p printer) emit(doc any, text func(tw io.Writer)) error {
	if p.format == OutputJSON {
		return json.NewEncoder(p.w).Encode(doc)
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// showBytes renders a key or value for humans: printable ASCII as it is,
// anything else (including the empty string) Go-quoted, which the shell
// accepts back inside double quotes.
func showBytes(b []byte) string {
	if len(b) == 0 {
		return `""`
	}
	for _, c := range b {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' || c == '\'' {
			return strconv.QuoteToASCII(string(b))
		}
	}
	return string(b)
}

// showBound renders a region or range boundary, where empty means infinity.
func showBound(b []byte, inf string) string {
	if len(b) == 0 {
		return inf
	}
	return showBytes(b)
}

// jsonBytes is the JSON form of a key or value: the string itself when it
// is valid UTF-8 (JSON escapes the rest), and always its hex, which is
// lossless for binary data.
type jsonBytes struct {
	Text string `json:"text"`
	Hex  string `json:"hex"`
}

func toJSONBytes(b []byte) jsonBytes {
	j := jsonBytes{Hex: hex.EncodeToString(b)}
	if utf8.Valid(b) {
		j.Text = string(b)
	} else {
		j.Text = strconv.QuoteToASCII(string(b))
	}
	return j
}
