package relay

import "time"

// Metrics is what the relay reports as things happen, for monitoring.
// *metrics.Metrics implements it; Deps.Metrics nil reports nothing. Its
// methods are called from the coins' goroutines and the notifier's
// workers.
type Metrics interface {
	// NodeHeight is a coin's node's best height, as the scanner asks it.
	NodeHeight(coin string, height int64)
	// Scanned is a block recorded at height, with the deposits it paid
	// and the time its batch took to commit.
	Scanned(coin string, height int64, deposits int, batch time.Duration)
	// RolledBack is a block rolled back, leaving the cursor at height.
	RolledBack(coin string, height int64)
	// Forwarded is a forward ("forward", "donation" or "refund") a node
	// first accepted, delay after its deposit's block (negative if not
	// known).
	Forwarded(coin, kind string, delay time.Duration)
	// Held is a deposit first seen held.
	Held(coin string)
	// Rejected is a node's refusal of a forward, with its reason.
	Rejected(coin, reason string)
	// CallbackAcked is a deposit's callback answered *ok*, delay after
	// the deposit's block (negative if not known).
	CallbackAcked(coin string, delay time.Duration)
}

// nopMetrics reports nothing.
type nopMetrics struct{}

func (nopMetrics) NodeHeight(string, int64)                  {}
func (nopMetrics) Scanned(string, int64, int, time.Duration) {}
func (nopMetrics) RolledBack(string, int64)                  {}
func (nopMetrics) Forwarded(string, string, time.Duration)   {}
func (nopMetrics) Held(string)                               {}
func (nopMetrics) Rejected(string, string)                   {}
func (nopMetrics) CallbackAcked(string, time.Duration)       {}

// orNop returns m, or a Metrics that reports nothing if m is nil.
func orNop(m Metrics) Metrics {
	if m == nil {
		return nopMetrics{}
	}
	return m
}
