package relay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/notify"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/relay/relaytest"
	"github.com/ferry-relay/ferry/store"
)

// callbackFixture is a store with one deposit, to an address with a
// callback, found in block 101 and forwarded; and the coin's callback
// queue with a limit of 10 confirmations.
type callbackFixture struct {
	db  *store.DB
	q   *notify.BlockQueue
	op  ferry.OutPoint
	fwd ferry.Hash
}

func newCallbackFixture(t *testing.T) *callbackFixture {
	t.Helper()
	ltc, _ := chain.Litecoin(chain.Regtest)
	db := relaytest.OpenStore(t)
	if err := db.Start("ltc", []store.BlockRef{{Height: 100, Hash: ferry.Hash{100}}}); err != nil {
		t.Fatal(err)
	}
	d, _ := ltc.ParseDestination(dest)
	m, err := relay.NewMinter(ltc, relaytest.Keys(t, ltc), db, store.NewWatchSet(), relaytest.Clock())
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Mint(d, "https://shop.example/cb.php?order=7&secret=s", true)
	if err != nil {
		t.Fatal(err)
	}
	f := &callbackFixture{db: db, op: ferry.OutPoint{Hash: ferry.Hash{7, 7}, Index: 3}, fwd: ferry.Hash{9, 9}}
	c := &store.Changes{Coin: "ltc", Height: 101, Hash: ferry.Hash{101}, Prev: ferry.Hash{100},
		Deposits: []ferry.Deposit{{OutPoint: f.op, AddrIndex: a.Index, Value: 5_000_000, Height: 101, BlockHash: ferry.Hash{101}}}}
	if err := db.Apply(c); err != nil {
		t.Fatal(err)
	}
	if err := db.PutForward(&store.Forward{Forward: ferry.Forward{TxID: f.fwd, Value: 5_000_000, Forwarded: 4_948_590}, Coin: "ltc", OutPoint: f.op, AddrIndex: a.Index, Accepted: true}); err != nil {
		t.Fatal(err)
	}
	f.q = relay.NewCallbackQueue(relay.CallbackQueueConfig{Coin: ltc, Store: db, Key: []byte("k"), MaxConfirmations: 10,
		Clock: clock.System{}, Log: zerolog.Nop()})
	return f
}

// advance moves the store's cursor to height, with empty blocks.
func (f *callbackFixture) advance(t *testing.T, height int64) {
	t.Helper()
	cur, err := f.db.Cursor("ltc")
	if err != nil {
		t.Fatal(err)
	}
	for h := cur.Height + 1; h <= height; h++ {
		if err := f.db.Apply(&store.Changes{Coin: "ltc", Height: h, Hash: ferry.Hash{byte(h), 1}, Prev: cur.Hash}); err != nil {
			t.Fatal(err)
		}
		cur.Hash = ferry.Hash{byte(h), 1}
	}
}

// due returns the queue's due items.
func (f *callbackFixture) due(t *testing.T) []notify.Item {
	t.Helper()
	items, _, err := f.q.Due(context.Background(), nil, 100, func(string) (int, []byte) { return 10, nil })
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestCallbackSentOnceAfterTheLimit: a deposit past the confirmation limit
// by the time its forward is accepted (ferry down, a postponed forward)
// still gets its callback, once; it is given up after that attempt.
func TestCallbackSentOnceAfterTheLimit(t *testing.T) {
	f := newCallbackFixture(t)
	f.advance(t, 150) // 50 confirmations: past the limit of 10
	if err := f.db.StartCallback("ltc", store.OutPointRef(f.op), "shop.example", 150); err != nil {
		t.Fatal(err)
	}
	items := f.due(t)
	if len(items) != 1 || items[0].Host != "shop.example" {
		t.Fatalf("due: %+v", items)
	}
	req, err := f.q.Build(context.Background(), items[0])
	if err != nil {
		t.Fatalf("the first attempt past the limit was not built: %v", err)
	}
	q := req.URL.Query()
	for k, v := range map[string]string{"order": "7", "secret": "s", "confirmations": "50", "value": "5000000", "value_forwarded": "4948590",
		"transaction_hash": f.op.Hash.String(), "vout": "3", "deposit_id": f.op.String(), "forward_transaction_hash": f.fwd.String(), "coin": "ltc"} {
		if q.Get(k) != v {
			t.Errorf("callback %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if req.Header.Get(relay.SignatureHeader) == "" {
		t.Error("no signature")
	}
	if err := f.q.Done(context.Background(), items[0], notify.Result{Time: time.Now(), Status: 500, Err: "HTTP 500"}); err != nil {
		t.Fatal(err)
	}
	if items := f.due(t); len(items) != 0 {
		t.Fatalf("due again in the same block: %+v", items)
	}

	f.advance(t, 151)
	items = f.due(t)
	if len(items) != 1 {
		t.Fatalf("%d due at the next block", len(items))
	}
	if _, err := f.q.Build(context.Background(), items[0]); !errors.Is(err, notify.ErrDropped) {
		t.Fatalf("a second attempt past the limit: %v", err)
	}
	if c, _ := f.db.Callback("ltc", store.OutPointRef(f.op)); c.State != ferry.DeliveryGaveUp || c.Attempts != 1 {
		t.Errorf("callback %+v, want given up after its one attempt", c)
	}
}

// TestCallbackOfAVanishedDeposit: a reorg takes the deposit away; its
// pending callback is cleared, not skipped forever, and starts again if
// the deposit comes back.
func TestCallbackOfAVanishedDeposit(t *testing.T) {
	f := newCallbackFixture(t)
	if err := f.db.StartCallback("ltc", store.OutPointRef(f.op), "shop.example", 101); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Rollback("ltc"); err != nil {
		t.Fatal(err)
	}
	f.advance(t, 102)
	items := f.due(t)
	if len(items) != 1 {
		t.Fatalf("%d due", len(items))
	}
	if _, err := f.q.Build(context.Background(), items[0]); !errors.Is(err, notify.ErrDropped) {
		t.Fatalf("the callback of a vanished deposit: %v", err)
	}
	if c, _ := f.db.Callback("ltc", store.OutPointRef(f.op)); c.State != ferry.DeliveryVanished {
		t.Errorf("state %v, want vanished", c.State)
	}
	if n, _ := f.db.QueuedCallbacks("ltc"); n != 0 {
		t.Errorf("%d callbacks still queued", n)
	}
	if err := f.db.StartCallback("ltc", store.OutPointRef(f.op), "shop.example", 103); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.db.Callback("ltc", store.OutPointRef(f.op)); c.State != ferry.DeliveryPending || c.Due != 103 {
		t.Errorf("after the deposit came back: %+v", c)
	}
}

// TestSign checks a signature against one computed by openssl:
// printf '%s' "1700000000.https://shop.example/cb?a=1" | openssl dgst -sha256 -hmac key
func TestSign(t *testing.T) {
	got := relay.Sign([]byte("key"), time.Unix(1700000000, 0), "https://shop.example/cb?a=1")
	if want := "t=1700000000,v1=1f156f082723610e2e14736308132408026dee9789eb7fa17e59775e62664923"; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

// TestCallbackAttemptRecordsClass (review 18, item 9): a failed attempt is
// recorded, for /api/check, by its class only: the dial error's address
// and port stay out of the store.
func TestCallbackAttemptRecordsClass(t *testing.T) {
	f := newCallbackFixture(t)
	f.advance(t, 101)
	if err := f.db.StartCallback("ltc", store.OutPointRef(f.op), "shop.example", 101); err != nil {
		t.Fatal(err)
	}
	items := f.due(t)
	if len(items) != 1 {
		t.Fatalf("due: %+v", items)
	}
	res := notify.Result{Time: time.Now(), Err: "dial tcp 203.0.113.7:8443: connect: connection refused", Class: notify.ClassRefused, NoAnswer: true}
	if err := f.q.Done(context.Background(), items[0], res); err != nil {
		t.Fatal(err)
	}
	as, err := f.db.Attempts("ltc", store.OutPointRef(f.op))
	if err != nil || len(as) != 1 {
		t.Fatalf("attempts %+v, %v", as, err)
	}
	if as[0].Error != notify.ClassRefused {
		t.Errorf("attempt recorded with error %q, want only its class %q", as[0].Error, notify.ClassRefused)
	}
}
