package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/api"
	"github.com/ferry-relay/ferry/relay"
	"github.com/ferry-relay/ferry/store"
)

// oneAddress is a stand-in for the relay (*relay.Engine) that mints one
// input address, for the example: the API is an adapter, and the engine
// behind it is any Engine.
type oneAddress struct {
	api.Engine // the calls the example does not make
}

// Mint implements api.Engine.
func (oneAddress) Mint(_ context.Context, r relay.MintRequest) (*store.Address, error) {
	if r.Destination == "" {
		return nil, &ferry.Error{Kind: ferry.KindInvalid, Message: "address is required"}
	}
	return &store.Address{Coin: r.Coin, Address: "ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas0nh5mw", Destination: r.Destination,
		Callback: r.Callback, CallbackReq: r.CallbackReq}, nil
}

// FeePercent implements api.Engine: a 1% service fee.
func (oneAddress) FeePercent() ferry.Fraction {
	f, _ := ferry.ParseFraction("0.01")
	return f
}

// ExampleNew serves LitePay's receive API over an engine and mints an
// input address in its later dialect (method=ltc), then asks again
// without the merchant's address: an error, in the dialect's form.
func ExampleNew() {
	srv := httptest.NewServer(api.New(api.DefaultConfig(), oneAddress{}, nil).Handler())
	defer srv.Close()

	for _, query := range []string{
		"method=ltc&address=ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh&callback=https://shop.example/cb.php?id=7",
		"method=ltc&callback_req=0",
	} {
		resp, err := http.Get(srv.URL + "/api/receive?" + query)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body))
	}
	// Output:
	// 200 {"status":"success","address":"ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas0nh5mw","fee":1,"callback_url":"https://shop.example/cb.php?id=7","input_address":"ltc1qk8hjy3lf245r7ppr2lfy8zxn8nwrmuas0nh5mw","destination":"ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh","fee_percent":"0.01","callback_req":"1"}
	// 400 {"status":"error","message":"address is required"}
}
