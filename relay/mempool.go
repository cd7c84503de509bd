package relay

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/store"
)

// MempoolSource tells the mempool watcher what enters a node's mempool and
// what is still there. Its cost follows what changes, never the size of
// the mempool. *chain.Mempool implements it.
type MempoolSource interface {
	// WatchMempool calls fn with each transaction entering the node's
	// mempool, from when it connects until ctx ends or the connection
	// fails (its error).
	WatchMempool(ctx context.Context, fn func(tx *chain.Tx)) error
	// TxOut reports an output as the node sees it: confirmed in a block
	// (confirmations >= 1), unconfirmed in its mempool (0), or neither
	// (found is false: spent, replaced, evicted).
	TxOut(ctx context.Context, op ferry.OutPoint) (confirmations int64, found bool, err error)
}

// MempoolLookup is what the watcher reads of the store. *store.DB
// implements it.
type MempoolLookup interface {
	AddressByProgram(coin string, program []byte) (*store.Address, error)
}

// memDeposit is a deposit seen in the node's mempool.
type memDeposit struct {
	OutPoint ferry.OutPoint
	Value    ferry.Amount
	Index    uint32
	Seen     time.Time
}

// MempoolWatcherConfig configures a MempoolWatcher.
type MempoolWatcherConfig struct {
	Coin   *chain.Coin
	Source MempoolSource
	Store  MempoolLookup
	Watch  *store.WatchSet
	Clock  clock.Clock
	// Recheck is how often the deposits seen are checked to be still in
	// the mempool; Reconnect the first wait before connecting again.
	Recheck, Reconnect time.Duration
	// Events receives each deposit seen (see Event); nil: none are sent.
	Events chan<- Event
	Log    zerolog.Logger
}

// MempoolWatcher keeps the deposits that the node's mempool holds: they are
// shown as unconfirmed, never forwarded. It keeps only what pays an input
// address, so its memory and its node traffic follow the payments, not the
// mempool. Deposits reports are safe for concurrent use.
type MempoolWatcher struct {
	cfg MempoolWatcherConfig
	id  string

	mu      sync.RWMutex
	byOut   map[ferry.OutPoint]memDeposit
	byIndex map[uint32][]ferry.OutPoint
	err     error // the connection's last failure, nil while connected
}

// NewMempoolWatcher returns a watcher for cfg.
func NewMempoolWatcher(cfg MempoolWatcherConfig) *MempoolWatcher {
	return &MempoolWatcher{cfg: cfg, id: cfg.Coin.ID(), byOut: map[ferry.OutPoint]memDeposit{}, byIndex: map[uint32][]ferry.OutPoint{}}
}

// Deposits returns the mempool deposits to the address at index.
func (m *MempoolWatcher) Deposits(index uint32) []memDeposit {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]memDeposit, 0, len(m.byIndex[index]))
	for _, op := range m.byIndex[index] {
		out = append(out, m.byOut[op])
	}
	return out
}

// Err returns why the watcher is not connected to the node, or nil.
func (m *MempoolWatcher) Err() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.err
}

// Len returns how many mempool deposits the watcher holds.
func (m *MempoolWatcher) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byOut)
}

// Run watches the node's mempool until ctx is done: it connects, takes
// in what enters, rechecks what it holds, and connects again after a
// failure, waiting longer after each up to a minute.
func (m *MempoolWatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { m.recheckLoop(ctx) })
	defer wg.Wait()
	backoff := m.cfg.Reconnect
	for ctx.Err() == nil {
		start := m.cfg.Clock.Now()
		err := m.cfg.Source.WatchMempool(ctx, m.take)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("connection closed")
		}
		m.mu.Lock()
		m.err = err
		m.mu.Unlock()
		if m.cfg.Clock.Now().Sub(start) > time.Minute {
			backoff = m.cfg.Reconnect // it had been up a while
		}
		m.cfg.Log.Warn().Err(err).Dur("retry_in", backoff).Msg("mempool: not connected to the node")
		select {
		case <-ctx.Done():
		case <-m.cfg.Clock.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// take records the deposits a transaction entering the mempool pays.
func (m *MempoolWatcher) take(tx *chain.Tx) {
	m.mu.Lock()
	m.err = nil
	m.mu.Unlock()
	var found []memDeposit
	for i, o := range tx.Outputs {
		prog, ok := chain.P2WPKHProgram(o.Script)
		if !ok || !m.cfg.Watch.MayContain(prog) {
			continue
		}
		a, err := m.cfg.Store.AddressByProgram(m.id, prog)
		if err != nil {
			continue // a fingerprint collision, or a store fault
		}
		found = append(found, memDeposit{OutPoint: ferry.OutPoint{Hash: tx.ID, Index: uint32(i)}, Value: ferry.Amount(o.Value), Index: a.Index, Seen: m.cfg.Clock.Now()})
	}
	if len(found) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range found {
		if _, ok := m.byOut[d.OutPoint]; ok {
			continue
		}
		m.byOut[d.OutPoint] = d
		m.byIndex[d.Index] = append(m.byIndex[d.Index], d.OutPoint)
		m.cfg.Log.Info().Str("outpoint", d.OutPoint.String()).Uint32("index", d.Index).Int64("value", int64(d.Value)).Msg("unconfirmed deposit")
		publisher(m.cfg.Events).publish(Event{Coin: m.id, Deposit: &ferry.Deposit{Coin: ferry.Coin(m.id), OutPoint: d.OutPoint,
			AddrIndex: d.Index, Value: d.Value, State: ferry.DepositUnconfirmed}})
	}
}

// recheckLoop drops, every Recheck, the deposits no longer in the mempool:
// mined (the store has them then), replaced or evicted. It asks the node
// about those deposits only.
func (m *MempoolWatcher) recheckLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.cfg.Clock.After(m.cfg.Recheck):
		}
		m.mu.RLock()
		ops := make([]ferry.OutPoint, 0, len(m.byOut))
		for op := range m.byOut {
			ops = append(ops, op)
		}
		m.mu.RUnlock()
		for _, op := range ops {
			confs, found, err := m.cfg.Source.TxOut(ctx, op)
			if err != nil {
				break // the node is down: try again next time
			}
			if found && confs == 0 {
				continue
			}
			m.drop(op)
		}
	}
}

func (m *MempoolWatcher) drop(op ferry.OutPoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.byOut[op]
	if !ok {
		return
	}
	delete(m.byOut, op)
	ops := m.byIndex[d.Index]
	for i, o := range ops {
		if o == op {
			ops = append(ops[:i], ops[i+1:]...)
			break
		}
	}
	if len(ops) == 0 {
		delete(m.byIndex, d.Index)
	} else {
		m.byIndex[d.Index] = ops
	}
}
