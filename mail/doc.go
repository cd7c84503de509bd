// Package mail sends ferry's emails to vendors ("Invoice 42 has been
// paid") through the operator's SMTP server.
//
// A Sender makes one SMTP delivery per call, with net/smtp: STARTTLS when
// the server offers it (smtp://) or TLS from the first byte (smtps://),
// AUTH PLAIN when credentials are configured, and a text/plain UTF-8 body
// in quoted-printable. A Mailer keeps an outbox in the store: Enqueue
// records a message durably and returns at once, so that mail never holds
// up the money path, and Run sends what is due in the background,
// retrying on a doubling schedule until the message is sent or given up.
package mail
