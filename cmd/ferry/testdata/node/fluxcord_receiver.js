// Fluxcord's Express receiver, as its documentation gives it, in an app
// that listens on 127.0.0.1:$PORT and first logs each webhook's headers
// and body, as JSON lines, to $WEBHOOK_LOG.
const express = require('express');
const fs = require('fs');
const app = express();
app.use((req, res, next) => {
  let raw = '';
  req.on('data', (c) => { raw += c; });
  req.on('end', () => {
    fs.appendFileSync(process.env.WEBHOOK_LOG, JSON.stringify({ path: req.path, headers: req.headers, body: raw }) + '\n');
  });
  next();
});

// --- Fluxcord's example, unchanged ---
app.post('/api/webhook/ltc-payment', express.json(), (req, res) => {
    const { paymentId, status, amountLtc, receivingAddress } = req.body;

    if (status === 'completed') {
        // 1. Verify this paymentId exists in your database
        // 2. Mark the user's order as paid
        // 3. Deliver the product/service automatically

        console.log(`Payment ${paymentId} completed! Delivered product.`);
    }

    res.status(200).send('Webhook received');
});
// --- end of the example ---

app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
