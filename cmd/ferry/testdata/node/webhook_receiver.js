// A shop's webhook receiver in Express, with README's verification of
// ferry's signed webhooks (Standard Webhooks). It listens on
// 127.0.0.1:$PORT, checks each POST to /payscrypt/webhook with
// $FERRY_WEBHOOK_SECRET, and logs what it decided, as JSON lines, to
// $WEBHOOK_LOG. Answers 204 to a good webhook, 400 to a bad one; a
// repeated webhook-id is answered 204 and logged as a repeat.
const express = require('express');
const fs = require('fs');
const app = express();
const seen = new Set();

// --- README: verifying a webhook in Node ---
const crypto = require('crypto');

// Returns the event if the request is signed with your webhook secret, or throws.
function verifyWebhook(secret, headers, rawBody) {
  const id = headers['webhook-id'], ts = headers['webhook-timestamp'], sigs = headers['webhook-signature'] || '';
  if (!id || !/^[0-9]+$/.test(ts || '') || Math.abs(Date.now() / 1000 - Number(ts)) > 300) {
    throw new Error('stale or unsigned webhook');
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${ts}.${rawBody}`).digest('base64');
  const ok = sigs.split(' ').some((s) => {
    const [v, sig] = s.split(',');
    return v === 'v1' && sig !== undefined && sig.length === expected.length &&
      crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
  });
  if (!ok) throw new Error('bad webhook signature');
  return JSON.parse(rawBody);
}
// --- end of README's code ---

app.post('/payscrypt/webhook', express.raw({ type: '*/*' }), (req, res) => {
  const body = req.body.toString('utf8');
  const entry = { id: req.headers['webhook-id'], body };
  try {
    entry.event = verifyWebhook(process.env.FERRY_WEBHOOK_SECRET, req.headers, body);
    entry.verified = true;
    entry.repeat = seen.has(entry.id);
    seen.add(entry.id);
  } catch (e) {
    entry.verified = false;
    entry.error = e.message;
  }
  fs.appendFileSync(process.env.WEBHOOK_LOG, JSON.stringify(entry) + '\n');
  res.sendStatus(entry.verified ? 204 : 400);
});

app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
