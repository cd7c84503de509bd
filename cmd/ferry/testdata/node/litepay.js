// A LitePay client in the style of the published TypeScript wrapper
// (npm "litepay"): axios, URLSearchParams (the callback encoded once), the
// answer's data returned as it is, and an HTTP error's body returned in
// place of the answer. Only the base URL differs: the tests point it at
// ferry.
'use strict';
const axios = require('axios');

class Litepay {
  constructor(base) {
    this.base = base;
  }

  static encode(data) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(data)) {
      if (value !== undefined) params.append(key, value);
    }
    return params;
  }

  async get(path, params) {
    try {
      const res = await axios.get(`${this.base}${path}?${Litepay.encode(params)}`);
      return res.data;
    } catch (error) {
      if (axios.isAxiosError(error) && error.response) return error.response.data;
      throw error;
    }
  }

  // create({method: 'btc' | 'ltc', receivingAddress, callbackUrl?})
  create({ method, receivingAddress, callbackUrl }) {
    return this.get('/api/receive', { method, address: receivingAddress, callback: callbackUrl });
  }

  // check({method, receivingAddress}): receivingAddress is the input address.
  check({ method, receivingAddress }) {
    return this.get('/api/check', { method, address: receivingAddress });
  }
}

module.exports = { Litepay };
