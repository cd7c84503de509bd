// Fluxcord's Node.js example, as its documentation gives it (the test
// replaces the gateway's host, the key and the shop's host, and calls
// createPayment).
const axios = require('axios');

async function createPayment(orderTotalLtc) {
    try {
        const response = await axios.post('https://gateway.fluxcord.store/api/payments', {
            amountLtc: orderTotalLtc, 
            webhookUrl: 'https://your-website.com/api/webhook/ltc-payment'
        }, {
            headers: {
                'x-api-key': 'YOUR_SECRET_API_KEY'
            }
        });

        console.log('Payment URL:', response.data.paymentUrl);
        // Redirect your user to response.data.paymentUrl
    } catch (error) {
        console.error('Error creating payment:', error.response.data);
    }
}
