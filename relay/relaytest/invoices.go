package relaytest

import (
	"testing"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
)

// InvoiceOptions shape a test invoice engine.
type InvoiceOptions struct {
	// Rates is the price source's spec; "" is
	// "static:LTC/USD=80,BTC/USD=90000,LTC/EUR=74,BTC/EUR=83000".
	Rates string
	// Quoter replaces the source (a failing one, say).
	Quoter invoice.Quoter
	Mailer invoice.Mailer
	Clock  clock.Clock
	Config func(*invoice.Config)
}

// Invoices returns an invoice engine over the test engine and its store.
func (e *Env) Invoices(tb testing.TB, opt InvoiceOptions) *invoice.Engine {
	tb.Helper()
	cfg := invoice.DefaultConfig()
	if opt.Clock != nil {
		cfg.Clock = opt.Clock
	}
	cfg.Network, cfg.Relay, cfg.Store, cfg.Waker, cfg.Mailer = chain.Regtest, e.Engine, e.Store, e.Wakes, opt.Mailer
	cfg.Holds, cfg.Events = e.Holds, e.Events
	cfg.Quoter = opt.Quoter
	if cfg.Quoter == nil {
		spec := opt.Rates
		if spec == "" {
			spec = "static:LTC/USD=80,BTC/USD=90000,LTC/EUR=74,BTC/EUR=83000"
		}
		src, err := rates.New(spec, rates.Options{Clock: cfg.Clock})
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Quoter = rates.NewCache(src, 0, cfg.Clock)
	}
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	inv, err := invoice.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}
