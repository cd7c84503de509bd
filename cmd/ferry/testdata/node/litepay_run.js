// Runs LitePay client calls against ferry and prints each answer as one
// JSON line: node litepay_run.js <base URL> <calls JSON>, where calls is a
// list of {"call": "create" | "check", ...arguments}.
'use strict';
const { Litepay } = require('./litepay');

(async () => {
  const [base, calls] = process.argv.slice(2);
  const client = new Litepay(base);
  for (const c of JSON.parse(calls)) {
    const answer = await client[c.call](c);
    console.log(JSON.stringify(answer));
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
