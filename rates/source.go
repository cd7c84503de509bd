package rates

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ferry-relay/ferry/clock"
)

// ErrUnsupported reports a pair that a source does not quote.
var ErrUnsupported = errors.New("pair not quoted")

// ErrUnavailable reports a source that cannot be reached or answers badly.
var ErrUnavailable = errors.New("price source unavailable")

// Price is the price of one whole coin in a fiat currency, as a source
// quoted it.
type Price struct {
	Pair
	Value  Decimal   // fiat per coin, more than 0
	Source string    // the source's Name: "coingecko", "kraken", "static"
	Time   time.Time // when it was fetched (or set), from the source's clock
}

// Source fetches current prices from one place. The sources New returns are
// safe for concurrent use.
type Source interface {
	// Name returns the source's name, as Price.Source holds it.
	Name() string
	// Prices returns the current price of each pair. A pair the source
	// does not quote is an error wrapping ErrUnsupported; a source that
	// cannot be reached or answers badly is an error wrapping
	// ErrUnavailable, with the reason. A pair with an unknown coin or
	// currency is an error wrapping ErrUnknownCoin or ErrUnknownCurrency.
	Prices(ctx context.Context, pairs []Pair) (map[Pair]Price, error)
}

// Options shape a source.
type Options struct {
	// BaseURL replaces the service's real base URL
	// (https://api.coingecko.com, https://api.kraken.com): tests point it
	// at a local server. Empty means the real one.
	BaseURL string
	// Client makes the requests. Nil means a client with a 10 s timeout.
	Client *http.Client
	// Clock stamps prices. Nil means clock.System{}.
	Clock clock.Clock
}

// DefaultTimeout is the timeout of the HTTP client a source makes when
// Options.Client is nil.
const DefaultTimeout = 10 * time.Second

// maxBody is the most of an answer a source reads.
const maxBody = 1 << 20

// New returns the source a --fiat-rates flag names: "coingecko",
// "kraken", or "static:LTC/USD=80,BTC/USD=90000,LTC/EUR=74.5", where the
// operator sets every pair's price himself. The error names what is wrong.
func New(spec string, opt Options) (Source, error) {
	if opt.Clock == nil {
		opt.Clock = clock.System{}
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: DefaultTimeout}
	}
	switch {
	case spec == "coingecko":
		base, err := baseURL(opt.BaseURL, "https://api.coingecko.com")
		if err != nil {
			return nil, fmt.Errorf("coingecko: %w", err)
		}
		return &coinGecko{base: base, client: opt.Client, clock: opt.Clock}, nil
	case spec == "kraken":
		base, err := baseURL(opt.BaseURL, "https://api.kraken.com")
		if err != nil {
			return nil, fmt.Errorf("kraken: %w", err)
		}
		return &kraken{base: base, client: opt.Client, clock: opt.Clock}, nil
	case strings.HasPrefix(spec, "static:"):
		return newStatic(strings.TrimPrefix(spec, "static:"), opt.Clock)
	}
	return nil, fmt.Errorf("fiat rates %q: want coingecko, kraken or static:LTC/USD=80,BTC/USD=90000", clip(spec))
}

// ErrBadBaseURL is returned by New for an Options.BaseURL that is not an
// absolute http or https URL.
var ErrBadBaseURL = errors.New("bad base url")

// baseURL returns s, or def if s is empty, without a trailing '/', once it
// is checked to be an absolute http or https URL.
func baseURL(s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: want http://host or https://host", ErrBadBaseURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		// Quoted without its password, if it has one.
		return "", fmt.Errorf("%w %q: want http://host or https://host", ErrBadBaseURL, clip(u.Redacted()))
	}
	return strings.TrimRight(s, "/"), nil
}

// get fetches u and returns the body of a 200 answer, read up to maxBody.
// Every failure wraps ErrUnavailable.
func get(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("User-Agent", "ferry/1")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: http status %d%s", ErrUnavailable, resp.StatusCode, excerpt(body))
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: answer over %d bytes", ErrUnavailable, maxBody)
	}
	return body, nil
}

// excerpt returns the start of an error answer, printable and short, for
// the operator's logs: ": {"status":…}", or "" for an empty body.
func excerpt(body []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(body[:min(len(body), 400)]))
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return ": " + clipN(s, 160)
}

// wanted checks pairs and returns them without repeats, in their order.
func wanted(pairs []Pair) ([]Pair, error) {
	seen := make(map[Pair]bool, len(pairs))
	out := make([]Pair, 0, len(pairs))
	for _, p := range pairs {
		if err := p.check(); err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}
