package mail_test

import (
	"fmt"

	"github.com/ferry-relay/ferry/mail"
)

// ExampleMessage builds the email a vendor gets when an invoice is paid.
// A Mailer's Enqueue would record it in the outbox and send it in the
// background; its ID makes a second Enqueue of the same event a no-op.
func ExampleMessage() {
	m := mail.Message{
		ID:      "inv-42.paid",
		To:      []string{"Vendor Ltd <billing@vendor.example>"},
		Subject: "Invoice 42 has been paid!",
		Body:    "Invoice 42 has been paid: 0.5 LTC.\n",
	}
	fmt.Println(m.Validate())

	m.ID = "inv 42" // spaces are not allowed in an ID
	fmt.Println(m.Validate())
	// Output:
	// <nil>
	// invalid message: id has ' ' at 3; want A-Z, a-z, 0-9, '.', '_', '-'
}
