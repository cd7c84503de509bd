package relay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// maxCallbackBody is how much of a merchant's answer is read: enough for
// "*ok*" and a short error page.
const maxCallbackBody = 1 << 10

// SignatureHeader carries a callback's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(key, t + "." + URL)>".
const SignatureHeader = "X-Ferry-Signature"

// Sign returns the X-Ferry-Signature value for a request of rawURL at t.
func Sign(key []byte, t time.Time, rawURL string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "." + rawURL))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// callbacker sends merchant callbacks: at most Workers at a time, at most
// PerHost to one host (name and port), and at most one per deposit. It is
// shared by every coin and safe for concurrent use.
type callbacker struct {
	cfg    CallbackConfig
	db     *store.DB
	clock  Clock
	log    zerolog.Logger
	client *http.Client
	global chan struct{}

	mu       sync.Mutex
	hosts    map[string]*hostSlots
	inflight map[string]bool
	wg       sync.WaitGroup
}

// hostSlots bounds the requests to one host; it is dropped when no job for
// the host is left.
type hostSlots struct {
	slots chan struct{}
	jobs  int
}

func newCallbacker(cfg CallbackConfig, db *store.DB, clock Clock, log zerolog.Logger) *callbacker {
	transport := &http.Transport{
		Proxy:                  nil, // only the outbound dialer decides where callbacks go
		DialContext:            cfg.Outbound.DialContext,
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxIdleConnsPerHost:    cfg.PerHost,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
		DisableCompression:     true,
	}
	return &callbacker{
		cfg:   cfg,
		db:    db,
		clock: clock,
		log:   log,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect is a failure: following it would let a
			// merchant's server send ferry anywhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		global:   make(chan struct{}, cfg.Workers),
		hosts:    map[string]*hostSlots{},
		inflight: map[string]bool{},
	}
}

// wait waits for the requests in flight to end (they end with the
// service's context).
func (cb *callbacker) wait() {
	cb.wg.Wait()
	cb.client.CloseIdleConnections()
}

// callbackJob is one request of one deposit's callback.
type callbackJob struct {
	coin  string // ticker
	op    chain.OutPoint
	url   *url.URL
	confs int64
}

// send starts the request of job in the background, unless one for the
// same deposit is still in flight.
func (cb *callbacker) send(ctx context.Context, job callbackJob) {
	id := job.coin + "/" + job.op.String()
	host := strings.ToLower(job.url.Host)
	cb.mu.Lock()
	if cb.inflight[id] {
		cb.mu.Unlock()
		return
	}
	cb.inflight[id] = true
	hs, ok := cb.hosts[host]
	if !ok {
		hs = &hostSlots{slots: make(chan struct{}, cb.cfg.PerHost)}
		cb.hosts[host] = hs
	}
	hs.jobs++
	cb.mu.Unlock()

	cb.wg.Add(1)
	go func() {
		defer cb.wg.Done()
		defer func() {
			cb.mu.Lock()
			delete(cb.inflight, id)
			if hs.jobs--; hs.jobs == 0 {
				delete(cb.hosts, host)
			}
			cb.mu.Unlock()
		}()
		// A host's own slots first, so that a slow host queues behind
		// itself without holding the shared ones.
		select {
		case hs.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-hs.slots }()
		select {
		case cb.global <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-cb.global }()

		// The state may have moved while the job waited: acked by an
		// earlier job, abandoned, or already sent at this count.
		if c, err := cb.db.Callback(job.coin, storeOP(job.op)); err != nil || c.State != store.CallbackPending || c.Last.Confirmations >= job.confs {
			return
		}
		a := cb.request(ctx, job)
		if ctx.Err() != nil {
			return // shutting down: not the merchant's failure
		}
		state := store.CallbackPending
		if a.Error == "" {
			state = store.CallbackAcked
		}
		c, err := cb.db.RecordAttempt(job.coin, storeOP(job.op), a, state)
		if err != nil {
			cb.log.Error().Err(err).Str("outpoint", job.op.String()).Msg("record callback attempt")
			return
		}
		ev := cb.log.Info()
		if state != store.CallbackAcked {
			ev = cb.log.Warn().Str("error", a.Error)
		}
		ev.Str("coin", job.coin).Str("outpoint", job.op.String()).Str("host", host).Int64("confirmations", job.confs).
			Int("status", a.Status).Int64("attempt", c.Attempts).Dur("took", a.Duration).Str("state", c.State.String()).Msg("callback")
	}()
}

// request makes one callback request and says how it went: an Attempt
// with no Error is an *ok*.
func (cb *callbacker) request(ctx context.Context, job callbackJob) store.Attempt {
	start := cb.clock.Now()
	a := store.Attempt{Time: start.UTC(), Confirmations: job.confs}
	raw := job.url.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header.Set("User-Agent", "ferry/1")
	req.Header.Set(SignatureHeader, Sign(cb.cfg.Key, start, raw))
	resp, err := cb.client.Do(req)
	a.Duration = time.Since(start)
	if err != nil {
		a.Error = describeDialError(err)
		return a
	}
	defer resp.Body.Close()
	a.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCallbackBody))
	a.Duration = time.Since(start)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("redirect (HTTP %d) not followed", resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		a.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	case err != nil:
		a.Error = "reading the answer: " + err.Error()
	case strings.TrimSpace(strings.TrimPrefix(string(body), "\ufeff")) != "*ok*":
		a.Error = fmt.Sprintf("answer is not *ok*: %.40q", body)
	}
	return a
}

// describeDialError shortens a client error to its cause, without the URL
// (which carries the merchant's secret).
func describeDialError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timeout"
	}
	return err.Error()
}

// callbackURL returns the merchant's URL with the callback parameters
// appended to its own query, which is kept as it is.
func callbackURL(merchant string, p url.Values) (*url.URL, error) {
	u, err := url.Parse(merchant)
	if err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		// The request line says "/": so must the signed URL.
		u.Path, u.RawPath = "/", ""
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += p.Encode()
	return u, nil
}

// callbacks sends, or sends again, the pending callbacks of the coin's
// deposits that have a new confirmation count at height tip, and abandons
// those past the confirmation limit.
func (r *coinRunner) callbacks(ctx context.Context, tip int64) {
	pending, err := r.db.PendingCallbacks(r.ticker)
	if err != nil {
		r.log.Error().Err(err).Msg("load pending callbacks")
		return
	}
	maxConfs := r.svc.cfg.Callbacks.MaxConfirmations
	for _, c := range pending {
		dep, err := r.db.Deposit(r.ticker, c.OutPoint)
		if errors.Is(err, store.ErrNotFound) {
			continue // rolled back by a reorg; it may come back
		}
		if err != nil {
			r.log.Error().Err(err).Msg("callbacks")
			continue
		}
		op := chainOP(c.OutPoint)
		confs := tip - dep.Height + 1
		if confs > maxConfs {
			if err := r.db.GiveUpCallback(r.ticker, c.OutPoint); err != nil {
				r.log.Error().Err(err).Msg("callbacks")
				continue
			}
			r.log.Warn().Str("outpoint", op.String()).Int64("attempts", c.Attempts).Int64("confirmations", confs).Msg("callback abandoned: no *ok* by the confirmation limit")
			continue
		}
		if confs <= c.Last.Confirmations {
			continue // already sent at this count
		}
		job, err := r.callbackJob(dep, confs)
		if err != nil {
			r.log.Error().Err(err).Str("outpoint", op.String()).Msg("callbacks")
			continue
		}
		r.svc.callbacks.send(ctx, job)
	}
}

// callbackJob builds the request for deposit dep at confs confirmations.
func (r *coinRunner) callbackJob(dep *store.Deposit, confs int64) (callbackJob, error) {
	addr, err := r.db.Address(r.ticker, dep.AddrIndex)
	if err != nil {
		return callbackJob{}, err
	}
	f, err := r.db.Forward(r.ticker, dep.OutPoint)
	if err != nil {
		return callbackJob{}, err
	}
	op := chainOP(dep.OutPoint)
	p := url.Values{
		"value":                    {strconv.FormatInt(dep.Value, 10)},
		"value_forwarded":          {strconv.FormatInt(f.Forwarded, 10)},
		"input_address":            {addr.Address},
		"destination_address":      {addr.Destination},
		"transaction_hash":         {op.Hash.String()},
		"input_transaction_hash":   {op.Hash.String()},
		"forward_transaction_hash": {chain.Hash(f.TxID).String()},
		"confirmations":            {strconv.FormatInt(confs, 10)},
		"coin":                     {r.ticker},
	}
	u, err := callbackURL(addr.Callback, p)
	if err != nil {
		return callbackJob{}, err
	}
	return callbackJob{coin: r.ticker, op: op, url: u, confs: confs}, nil
}

// startCallback makes a deposit's callback pending once its forward is
// accepted, if its address asked for callbacks.
func (r *coinRunner) startCallback(f *store.Forward) {
	if f.Donation {
		return
	}
	d, err := r.db.Deposit(r.ticker, f.OutPoint)
	if err != nil {
		r.log.Error().Err(err).Msg("start callback")
		return
	}
	addr, err := r.db.Address(r.ticker, d.AddrIndex)
	if err != nil {
		r.log.Error().Err(err).Msg("start callback")
		return
	}
	if !addr.CallbackReq || addr.Callback == "" {
		return
	}
	if err := r.db.StartCallback(r.ticker, f.OutPoint); err != nil {
		r.log.Error().Err(err).Msg("start callback")
	}
}
