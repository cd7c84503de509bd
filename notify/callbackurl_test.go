package notify

import (
	"net/url"
	"testing"
)

func TestCallbackURL(t *testing.T) {
	p := url.Values{"value": {"5"}, "coin": {"ltc"}}
	tests := []struct{ in, want string }{
		{"http://shop.example/cb.php?call=123&secret=NTIz", "http://shop.example/cb.php?call=123&secret=NTIz&coin=ltc&value=5"},
		{"https://shop.example/cb", "https://shop.example/cb?coin=ltc&value=5"},
		{"http://shop.example/cb?a=%20b#frag", "http://shop.example/cb?a=%20b&coin=ltc&value=5"},
		// No path: the request line says "/", so the signed URL does too.
		{"https://shop.example?x=1", "https://shop.example/?x=1&coin=ltc&value=5"},
		{"http://shop.example:8080", "http://shop.example:8080/?coin=ltc&value=5"},
	}
	for _, tt := range tests {
		u, err := CallbackURL(tt.in, p)
		if err != nil || u.String() != tt.want {
			t.Errorf("CallbackURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}
