package rates_test

import (
	"fmt"
	"time"

	"github.com/ferry-relay/ferry/rates"
)

func ExampleSatoshis() {
	// An invoice of $10.00, at 80 USD per litecoin and at 3 USD per coin.
	fiat, _ := rates.ParseFiatAmount("10.00", "USD")
	for _, v := range []string{"80", "3"} {
		value, _ := rates.ParseDecimal(v)
		price := rates.Price{
			Pair:   rates.Pair{Coin: "ltc", Fiat: "USD"},
			Value:  value,
			Source: "static",
			Time:   time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC),
		}
		sat, err := rates.Satoshis(fiat, price)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s USD at %s: %d sat, worth %s USD\n", fiat.Fixed(2), price.Value, sat, rates.Fiat(sat, price))
	}
	// Output:
	// 10.00 USD at 80: 12500000 sat, worth 10 USD
	// 10.00 USD at 3: 333333334 sat, worth 10.00000002 USD
}
