package relay

import (
	"errors"
	"math"

	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/store"
)

// mint hands out a new input address paying to dest. The address is
// recorded, synced, and added to the watch set before it is returned.
// Concurrent calls derive keys in parallel; the store merges their writes.
func (r *coinRunner) mint(dest chain.Destination, callback string, callbackReq bool) (*store.Address, error) {
	if !r.scanning.Load() {
		return nil, errorf(KindUnavailable, "%s is starting: its node has not been reached yet", r.Coin.Name())
	}
	for {
		r.mintMu.Lock()
		idx := r.next
		if idx >= math.MaxInt32 {
			r.mintMu.Unlock()
			return nil, errorf(KindUnavailable, "no input addresses left on this server's derivation path")
		}
		r.next++
		r.mintMu.Unlock()

		prog, err := r.Keys.Program(idx)
		if errors.Is(err, chain.ErrSkipIndex) {
			continue
		}
		if err != nil {
			return nil, internal("derive input address", err)
		}
		in, err := r.Coin.InputAddress(prog)
		if err != nil {
			return nil, internal("encode input address", err)
		}
		a := &store.Address{
			Coin:        r.ticker,
			Index:       idx,
			Program:     prog,
			Address:     in.Address,
			Destination: dest.Address,
			DestScript:  dest.Script,
			Callback:    callback,
			CallbackReq: callbackReq,
			Created:     r.svc.cfg.Clock.Now().UTC(),
		}
		if err := r.db.PutAddress(a); err != nil {
			return nil, internal("record input address", err)
		}
		r.watch.Add(prog[:])
		return a, nil
	}
}

// isInputAddress reports whether dest pays to one of this coin's input
// addresses, expired ones included, which would send the money in a circle
// or where nothing watches it.
func (r *coinRunner) isInputAddress(dest chain.Destination) (bool, error) {
	prog, ok := chain.P2WPKHProgram(dest.Script)
	if !ok {
		return false, nil
	}
	_, err := r.db.AddressByProgram(r.ticker, prog)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
