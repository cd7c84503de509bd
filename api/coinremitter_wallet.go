package api

import (
	"encoding/json"
	"strings"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain"
	"github.com/ferry-relay/ferry/invoice"
	"github.com/ferry-relay/ferry/rates"
	"github.com/ferry-relay/ferry/store"
)

// Coinremitter's wallet actions: addresses, the transactions to and from
// them, and the coins' rates. ferry holds no balance: withdraw is refused,
// and get-balance says 0.

// crNewAddress is get-new-address: an input address forwarding to the
// vendor's payout address, with its label and the link of its QR code.
func crNewAddress(c *crCall) (any, string, error) {
	label := c.form.Get("label")
	if len(label) > 100 {
		return nil, "", crInvalidf("The label may not be greater than 100 characters.")
	}
	a, err := c.cr.wallet.NewAddress(c.req.Context(), c.vendor, c.coin, label)
	if err != nil {
		return nil, "", err
	}
	return struct {
		Address string `json:"address"`
		Label   string `json:"label"`
		QRCode  string `json:"qr_code"`
	}{a.Address, label, qrLink(c.cr.links.base(c.req), chain.CoinName(c.coin)+":"+a.Address)}, "New address created successfully.", nil
}

// crValidateAddress is validate-address: whether address is one of the
// coin on ferry's network (flag 1 either way).
func crValidateAddress(c *crCall) (any, string, error) {
	if err := c.required("address"); err != nil {
		return nil, "", err
	}
	_, err := c.cr.destination(c.coin, c.form.Get("address"))
	return struct {
		Valid bool `json:"valid"`
	}{err == nil}, "Success !", nil
}

// destination parses an address of coin on the server's network.
func (cr *coinremitter) destination(coin, address string) (chain.Destination, error) {
	net, err := chain.ParseNetwork(cr.network)
	if err != nil {
		return chain.Destination{}, err
	}
	cc, err := chain.CoinByID(coin, net)
	if err != nil {
		return chain.Destination{}, err
	}
	return cc.ParseDestination(address)
}

// crCustodial answers withdraw: ferry holds no balance to send from.
func crCustodial(c *crCall) (any, string, error) {
	return nil, "", crFailf("%s", crNonCustodial)
}

// crBalance is get-balance: ferry holds no balance, so it is 0, always;
// every payment is forwarded by itself (a payment an invoice holds is the
// invoice's, its held_amount). The wallet's name is the vendor's.
// (Coinremitter's WooCommerce plugin adds a wallet only once get-balance
// answers flag 1 with a wallet_name.)
func crBalance(c *crCall) (any, string, error) {
	return struct {
		Balance    json.Number `json:"balance"`
		WalletName string      `json:"wallet_name"`
		CoinName   string      `json:"coin_name"`
	}{"0", c.vendor.Name, crCoinName(c.coin)}, "Get balance successfully", nil
}

// crGetTransaction is get-transaction: a deposit to one of the vendor's
// addresses ("<txid>:<vout>"), or the forward or refund that paid it out
// (that and ":out").
func crGetTransaction(c *crCall) (any, string, error) {
	if err := c.required("id"); err != nil {
		return nil, "", err
	}
	t, err := c.cr.wallet.Transaction(c.req.Context(), c.vendor.ID, c.coin, c.form.Get("id"))
	if k, _ := ferry.Explain(err); err != nil && k == ferry.KindNotFound {
		return nil, "", crFailf("Transaction not found.")
	}
	if err != nil {
		return nil, "", err
	}
	return crTransaction(c.vendor, *t), "success", nil
}

// crTransactionsByAddress is get-transaction-by-address: every deposit to
// one of the vendor's addresses, and what paid each out.
func crTransactionsByAddress(c *crCall) (any, string, error) {
	if err := c.required("address"); err != nil {
		return nil, "", err
	}
	ts, err := c.cr.wallet.Transactions(c.req.Context(), c.vendor.ID, c.coin, c.form.Get("address"))
	if k, _ := ferry.Explain(err); err != nil && k == ferry.KindNotFound {
		return nil, "", crFailf("Address not found: it is not one of yours.")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, crTransaction(c.vendor, t))
	}
	return out, "success", nil
}

// crTxReceive is a deposit as Coinremitter shows a transaction.
type crTxReceive struct {
	ID            string `json:"id"`
	TxID          string `json:"txid"`
	ExplorerURL   string `json:"explorer_url"`
	Type          string `json:"type"`
	MerchantID    string `json:"merchant_id"`
	CoinShortName string `json:"coin_short_name"`
	WalletID      string `json:"wallet_id"`
	WalletName    string `json:"wallet_name"`
	Address       string `json:"address"`
	Amount        string `json:"amount"`
	Confirmations int64  `json:"confirmations"`
	Date          string `json:"date"`
}

// crTxSend is a forward or refund as Coinremitter shows a transaction
// sent, with ferry's status of it.
type crTxSend struct {
	crTxReceive
	TransactionFees string `json:"transaction_fees"`
	ProcessingFees  string `json:"processing_fees"`
	TotalAmount     string `json:"total_amount"`
}

// crTransaction is t in Coinremitter's fields: a deposit is received; its
// forward or refund is sent, with the network fee (transaction_fees) and
// the service fee (processing_fees) that came out of the deposit
// (total_amount).
func crTransaction(v *store.Vendor, t invoice.Transaction) any {
	coin := string(t.Deposit.Coin)
	r := crTxReceive{ID: t.ID(), TxID: t.TxID().String(), Type: "receive", MerchantID: v.ID, CoinShortName: t.Deposit.Coin.Ticker(),
		WalletID: crWallet(v, coin), WalletName: v.Name, Address: t.To, Amount: t.Amount().Short(),
		Confirmations: t.Confirmations, Date: crDate(t.Time)}
	if t.Kind == invoice.KindDeposit {
		return r
	}
	r.Type = "send"
	return crTxSend{crTxReceive: r, TransactionFees: t.NetworkFee().String(), ProcessingFees: t.ServiceFee().String(),
		TotalAmount: t.Total().Short()}
}

// crWallet is a vendor's wallet id in a coin: its id and the ticker.
func crWallet(v *store.Vendor, coin string) string { return v.ID + "-" + strings.ToUpper(coin) }

// crFiatToCrypto is get-fiat-to-crypto-rate: fiat_amount of fiat_symbol
// in the coin, at the price an invoice would be quoted at now.
func crFiatToCrypto(c *crCall) (any, string, error) {
	if err := c.required("fiat_symbol", "fiat_amount"); err != nil {
		return nil, "", err
	}
	fiat := strings.ToUpper(strings.TrimSpace(c.form.Get("fiat_symbol")))
	if chain.CoinName(strings.ToLower(fiat)) != "" {
		return nil, "", crInvalidf("The selected fiat symbol is invalid.")
	}
	amount, err := c.decimal("fiat_amount", rates.MinorUnits(fiat), fiat)
	if err != nil {
		return nil, "", err
	}
	q, err := c.cr.quotes.Quote(c.req.Context(), amount, fiat, c.coin)
	if err != nil {
		return nil, "", err
	}
	return struct {
		CryptoAmount   string `json:"crypto_amount"`
		CryptoSymbol   string `json:"crypto_symbol"`
		CryptoCurrency string `json:"crypto_currency"`
		FiatAmount     string `json:"fiat_amount"`
		FiatSymbol     string `json:"fiat_symbol"`
	}{ferry.Amount(q.Coin.Due).String(), strings.ToUpper(c.coin), crCoinName(c.coin), q.Amount, q.Currency}, "success", nil
}

// crCoinName is a coin's full name: "Litecoin".
func crCoinName(coin string) string {
	n := chain.CoinName(coin)
	return strings.ToUpper(n[:1]) + n[1:]
}

// crCoinRate is get-coin-rate: the USD price of each coin ferry relays.
func crCoinRate(c *crCall) (any, string, error) {
	type rate struct {
		Symbol string      `json:"symbol"`
		Name   string      `json:"name"`
		Price  json.Number `json:"price"`
	}
	out := map[string]rate{}
	for _, coin := range c.cr.relay.Coins() {
		q, err := c.cr.quotes.Quote(c.req.Context(), "1", "USD", coin)
		if err != nil {
			return nil, "", err
		}
		out[strings.ToUpper(coin)] = rate{strings.ToUpper(coin), crCoinName(coin), json.Number(q.Coin.Rate)}
	}
	return out, "success", nil
}
