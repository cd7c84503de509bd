package relay

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-relay/ferry/chain"
)

// Mempool watching: unconfirmed deposits are shown by /api/check and keep an
// address from expiring; they are never forwarded.
const (
	mempoolInterval = time.Second
	// mempoolFetchMax bounds the transactions fetched per pass, so that a
	// large mempool at start is read over several passes.
	mempoolFetchMax = 2000
)

// memDeposit is a deposit seen in the node's mempool.
type memDeposit struct {
	OutPoint chain.OutPoint
	Value    int64
	Index    uint32
}

// mempoolView is what the node's mempool pays to input addresses. It is
// safe for concurrent use.
type mempoolView struct {
	mu sync.RWMutex
	// txs holds every mempool transaction examined, with the deposits it
	// pays (most pay none).
	txs     map[chain.Hash][]memDeposit
	byIndex map[uint32][]memDeposit
}

func newMempoolView() *mempoolView {
	return &mempoolView{txs: map[chain.Hash][]memDeposit{}, byIndex: map[uint32][]memDeposit{}}
}

// pays reports whether a mempool transaction pays the address at index.
func (m *mempoolView) pays(index uint32) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byIndex[index]) > 0
}

// deposits returns the mempool deposits to the address at index.
func (m *mempoolView) deposits(index uint32) []memDeposit {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]memDeposit(nil), m.byIndex[index]...)
}

// watchMempool keeps the coin's mempool view current until ctx is done.
func (r *coinRunner) watchMempool(ctx context.Context) {
	for {
		if err := r.refreshMempool(ctx); err != nil && ctx.Err() == nil {
			r.log.Debug().Err(err).Msg("mempool")
		}
		select {
		case <-ctx.Done():
			return
		case <-r.svc.cfg.Clock.After(mempoolInterval):
		}
	}
}

// refreshMempool reads the node's mempool: new transactions are examined,
// gone ones forgotten.
func (r *coinRunner) refreshMempool(ctx context.Context) error {
	ids, err := r.Node.RawMempool(ctx)
	if err != nil {
		return err
	}
	current := make(map[chain.Hash]bool, len(ids))
	var fresh []chain.Hash
	r.mempool.mu.RLock()
	for _, id := range ids {
		current[id] = true
		if _, seen := r.mempool.txs[id]; !seen && len(fresh) < mempoolFetchMax {
			fresh = append(fresh, id)
		}
	}
	r.mempool.mu.RUnlock()

	found := make(map[chain.Hash][]memDeposit, len(fresh))
	for _, id := range fresh {
		raw, err := r.Node.RawTransaction(ctx, id)
		if err != nil {
			continue // gone since getrawmempool; or the node is down
		}
		found[id] = r.matchTx(raw)
	}

	m := r.mempool
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.txs {
		if !current[id] {
			delete(m.txs, id)
		}
	}
	for id, ds := range found {
		m.txs[id] = ds
	}
	m.byIndex = map[uint32][]memDeposit{}
	for _, ds := range m.txs {
		for _, d := range ds {
			m.byIndex[d.Index] = append(m.byIndex[d.Index], d)
		}
	}
	return nil
}

// matchTx returns the deposits a serialized transaction pays.
func (r *coinRunner) matchTx(raw []byte) []memDeposit {
	tx, err := r.Coin.DecodeTx(raw)
	if err != nil {
		return nil
	}
	var ds []memDeposit
	for i, o := range tx.Outputs {
		prog, ok := chain.P2WPKHProgram(o.Script)
		if !ok || !r.watch.MayContain(prog) {
			continue
		}
		a, err := r.db.AddressByProgram(r.ticker, prog)
		if err != nil {
			continue
		}
		ds = append(ds, memDeposit{OutPoint: chain.OutPoint{Hash: tx.ID, Index: uint32(i)}, Value: o.Value, Index: a.Index})
	}
	return ds
}
