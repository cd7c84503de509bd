package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The seeds' examples (testdata/seeds: Coinremitter's and the Open API's
// responses as their documentation gives them), and checks of ferry's
// answers against them, field by field.

// seedExample returns the example name of testdata/seeds/<file>.json,
// decoded as JSON values are (numbers as float64).
func seedExample(t *testing.T, file, name string) any {
	t.Helper()
	b, err := os.ReadFile("testdata/seeds/" + file + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	ex, ok := all[name]
	if !ok {
		t.Fatalf("no example %s in %s", name, file)
	}
	return ex
}

// jsonKind is a value's JSON type.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

var (
	dateForm      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	timestampForm = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	decimalForm   = regexp.MustCompile(`^\d+(\.\d+)?$`)
	eightDecimals = regexp.MustCompile(`^\d+\.\d{8}$`)
)

// Fields the seeds give in forms sameShape checks apart.
var (
	// byCurrency are objects keyed by currency codes, whose values are
	// decimal strings (or, before any payment, an empty array).
	byCurrency = map[string]bool{"total_amount": true, "paid_amount": true, "conversion_rate": true}
	// dates are written "2006-01-02 15:04:05", UTC (or null, where the
	// seed's example is null).
	dates = map[string]bool{"date": true, "expire_on": true, "invoice_date": true, "last_updated_date": true, "inserted": true,
		"confirmed": true, "cancelled": true}
	// amounts are decimal strings.
	amounts = map[string]bool{"amount": true, "crypto_amount": true, "fiat_amount": true, "amount_exchange": true, "network_processing_fee": true,
		"fast_transaction_fee": true, "payment": true, "transaction_fees": true, "processing_fees": true, "usd_amount": true,
		"invoice_amount": true, "rate": true, "total_amount": true}
)

// sameShape checks that got has every field of the seed's example want,
// of the same JSON type and in the same form (dates, decimal amounts,
// eight decimals where the seed writes eight), in objects within it too,
// and each element of an array against the example's first. Fields of
// ferry's own, beyond the seed's, are allowed.
func sameShape(t *testing.T, what string, got, want any) {
	t.Helper()
	var walk func(path string, got, want any)
	walk = func(path string, got, want any) {
		if jsonKind(got) != jsonKind(want) {
			t.Errorf("%s: %s %s is a %s, the seed's a %s", what, path, clipJSON(got), jsonKind(got), jsonKind(want))
			return
		}
		switch w := want.(type) {
		case map[string]any:
			g := got.(map[string]any)
			for _, k := range sortedKeys(w) {
				gv, ok := g[k]
				field := path + "." + k
				switch {
				case !ok:
					t.Errorf("%s: %s is missing", what, field)
				case byCurrency[k] && jsonKind(w[k]) != "string":
					checkByCurrency(t, what, field, gv)
				case w[k] == nil && gv != nil:
					// Null in the example: a string when there is something.
					if s, ok := gv.(string); !ok || dates[k] && !dateForm.MatchString(s) {
						t.Errorf("%s: %s is %s, want null or a string", what, field, clipJSON(gv))
					}
				case w[k] == nil, gv == nil && (k == "confirmed" || k == "cancelled"):
					// A time a payment was confirmed or cancelled: null
					// until it is.
				default:
					walk(field, gv, w[k])
					checkForm(t, what, field, k, gv, w[k])
				}
			}
		case []any:
			if len(w) == 0 {
				return
			}
			for i, e := range got.([]any) {
				walk(fmt.Sprintf("%s[%d]", path, i), e, w[0])
			}
		}
	}
	walk("data", got, want)
}

// checkByCurrency checks an object of amounts by currency.
func checkByCurrency(t *testing.T, what, field string, v any) {
	t.Helper()
	if a, ok := v.([]any); ok && len(a) == 0 {
		return // nothing paid yet, as the seed writes it
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		t.Errorf("%s: %s is %s, want amounts by currency", what, field, clipJSON(v))
		return
	}
	for cur, a := range m {
		if s, ok := a.(string); !ok || !decimalForm.MatchString(s) || strings.ToUpper(cur) != cur {
			t.Errorf("%s: %s[%s] is %s, want a decimal string", what, field, cur, clipJSON(a))
		}
	}
}

// checkForm checks a string field's form: a date, a timestamp, a decimal
// amount (of eight decimals where the seed writes eight).
func checkForm(t *testing.T, what, field, key string, got, want any) {
	t.Helper()
	g, ok := got.(string)
	w, _ := want.(string)
	switch {
	case !ok:
	case dates[key] && !dateForm.MatchString(g):
		t.Errorf("%s: %s is %q, not a date as the seed writes them (%q)", what, field, g, w)
	case key == "timestamp" && !timestampForm.MatchString(g):
		t.Errorf("%s: %s is %q, not a timestamp as the seed writes them (%q)", what, field, g, w)
	case amounts[key] && !decimalForm.MatchString(g):
		t.Errorf("%s: %s is %q, not a decimal amount", what, field, g)
	case amounts[key] && eightDecimals.MatchString(w) && !eightDecimals.MatchString(g):
		t.Errorf("%s: %s is %q, not of eight decimals as the seed's %q", what, field, g, w)
	}
}

// sameNames checks that a form decoded by PHP (every value a string, the
// nested fields arrays) has every field of the seed's example want.
func sameNames(t *testing.T, what string, got, want any) {
	t.Helper()
	w, ok := want.(map[string]any)
	if !ok {
		return
	}
	g, ok := got.(map[string]any)
	if !ok {
		t.Errorf("%s: %s is not an object", what, clipJSON(got))
		return
	}
	for _, k := range sortedKeys(w) {
		gv, ok := g[k]
		switch {
		case !ok && (byCurrency[k] || k == "payment_history"):
			// An empty array is not in a form.
		case !ok:
			t.Errorf("%s: %s is missing", what, k)
		case k == "payment_history":
			for _, e := range gv.([]any) {
				sameNames(t, what+"."+k, e, w[k].([]any)[0])
			}
		case jsonKind(w[k]) != "object" && jsonKind(gv) != "string":
			t.Errorf("%s: %s is %s, want a field", what, k, clipJSON(gv))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func clipJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
