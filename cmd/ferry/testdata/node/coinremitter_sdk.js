// Runs calls of Coinremitter's Node SDK (npm coinremitter-api 1.1.0,
// unchanged; coinremitter_preload.js sends them to ferry) and prints each
// outcome as one line "CR <JSON>": {"call", "err", "data"}, err and data
// as the SDK's callback gets them. (The SDK's own log lines go to stdout
// too.)
//
// node -r ./coinremitter_preload.js coinremitter_sdk.js <calls JSON>, with
// CR_PORT, CR_KEY and CR_PASSWORD in the environment. calls is a list of
// {"call": <method>, "coin": <coin>, "param": {...}}; a param value
// "$invoice_id" is the invoice_id of the last invoice created.
'use strict';
const Coinremitter = require('coinremitter-api');

function run(sdk, c) {
  return new Promise((resolve) => {
    const done = (err, data) => resolve({ call: c.call, err, data });
    if (c.call === 'getCoinRate' || c.call === 'getBalance') {
      sdk[c.call](done);
    } else {
      sdk[c.call](c.param || {}, done);
    }
  });
}

(async () => {
  let invoiceID = '';
  for (const c of JSON.parse(process.argv[2])) {
    const param = {};
    for (const [k, v] of Object.entries(c.param || {})) {
      param[k] = v === '$invoice_id' ? invoiceID : v;
    }
    const sdk = new Coinremitter(process.env.CR_KEY, process.env.CR_PASSWORD, c.coin);
    const out = await run(sdk, { ...c, param });
    if (c.call === 'createInvoice' && out.data) {
      invoiceID = out.data.data.invoice_id;
    }
    console.log('CR ' + JSON.stringify(out));
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
