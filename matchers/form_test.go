package matchers

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestAppendFormJSON(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", `{}`},
		{"a=1&b=x+y&c=%22q%22", `{"a":"1","b":"x y","c":"\"q\""}`},
		{"a=1&a=2&b=", `{"a":"1","b":""}`},
		{"k=%E2%80%A8%FF", `{"k":"\u2028\ufffd"}`},
	} {
		var args fasthttp.Args
		args.Parse(tt.in)
		got := AppendFormJSON([]byte("x"), &args)
		if string(got) != "x"+tt.want || !json.Valid(got[1:]) {
			t.Errorf("AppendFormJSON(%q) = %s; want %s", tt.in, got[1:], tt.want)
		}
	}
}
