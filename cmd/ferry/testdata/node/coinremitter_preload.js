// Loaded with `node -r ./coinremitter_preload.js`: sends the requests
// Coinremitter's Node SDK (coinremitter-api) makes to coinremitter.com to
// ferry on 127.0.0.1:$CR_PORT instead, over plain HTTP, and leaves every
// other request alone. The SDK has no option for its host: it calls
// require('https').request({hostname: 'coinremitter.com', path, method,
// headers}) and looks the function up at each call, so replacing it here
// is all a shop needs; the SDK itself runs unchanged.
'use strict';
const http = require('http');
const https = require('https');

const port = Number(process.env.CR_PORT);
const original = https.request;
https.request = function (options, callback) {
  if (options && typeof options === 'object' && !(options instanceof URL) &&
      (options.hostname === 'coinremitter.com' || options.host === 'coinremitter.com')) {
    const redirected = { ...options, protocol: 'http:', hostname: '127.0.0.1', host: undefined, port, agent: undefined };
    return http.request(redirected, callback);
  }
  return original.apply(this, arguments);
};
