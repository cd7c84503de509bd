package chain

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestHexResult(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // hex, or "" for false
	}{
		{"litecoind", `{"result":"00ff10","error":null,"id":7}` + "\n", "00ff10"},
		{"upper case", `{"result":"00FF10","error":null,"id":7}`, "00ff10"},
		{"empty", `{"result":"","error":null,"id":7}`, ""},
		{"error", `{"result":"00","error":{"code":-5,"message":"Block not found"},"id":7}`, ""},
		{"escaped", `{"result":"00\"ff","error":null,"id":7}`, ""},
		{"odd", `{"result":"0ff","error":null,"id":7}`, ""},
		{"not hex", `{"result":"zz","error":null,"id":7}`, ""},
		{"result later", `{"error":null,"result":"00"}`, ""},
		{"number", `{"result":12,"error":null}`, ""},
		{"twice", `{"result":"00","result":"ff","error":null}`, ""},
		{"twice in capitals", `{"result":"00","RESULT":"ff","error":null}`, ""},
		{"unterminated", `{"result":"00ff`, ""},
		{"broken tail", `{"result":"00ff",`, ""},
	}
	for _, tt := range tests {
		got, ok := hexResult([]byte(tt.in))
		if tt.want == "" {
			if ok && len(got) > 0 {
				t.Errorf("%s: %x, want the general decoder", tt.name, got)
			}
			continue
		}
		if !ok || hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: %x %v, want %s", tt.name, got, ok, tt.want)
		}
	}
}

// FuzzHexResult checks that the quick reading of a hex answer, when it
// reads one, agrees with the JSON decoder's.
func FuzzHexResult(f *testing.F) {
	f.Add([]byte(`{"result":"00ff10","error":null,"id":7}`))
	f.Add([]byte(`{"result":"00","error":{"code":-5,"message":"x"},"id":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := hexResult(data)
		if !ok {
			return
		}
		var s string
		if err := decodeResult("getblock", data, 200, &s); err != nil {
			t.Fatalf("quick reading %x, the decoder: %v", got, err)
		}
		want, err := hex.DecodeString(s)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("quick reading %x, the decoder %x (%v)", got, want, err)
		}
	})
}
