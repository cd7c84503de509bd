# Fluxcord's Python example, as its documentation gives it (the test
# replaces the gateway's host, the key and the shop's host, and calls
# create_payment).
import requests

def create_payment(order_total_ltc):
    url = "https://gateway.fluxcord.store/api/payments"
    headers = {
        "x-api-key": "YOUR_SECRET_API_KEY",
        "Content-Type": "application/json"
    }
    data = {
        "amountLtc": order_total_ltc, 
        "webhookUrl": "https://your-website.com/api/webhook/ltc-payment"
    }
    
    response = requests.post(url, json=data, headers=headers)
    
    if response.status_code == 200:
        print("Payment URL:", response.json()["paymentUrl"])
        # Redirect your user to this URL
    else:
        print("Error:", response.json())
