<?php
// A shop's checkout with LitePay's PHP class, as LitePay's merchant
// example: the vendor's id and secret, the shop's invoice number, a price
// in USD, and the buyer's email and the URLs urlencoded before the class
// builds the form. It prints the invoice page's URL, or the class's
// exception. Environment: FERRY, SHOP, VENDOR, SECRET, INVOICE, PRICE.
require __DIR__ . '/litepay_class.php';

$litepay = new litepay('merchant', getenv('FERRY'));
$invoice_id = getenv('INVOICE');
$callback_url = getenv('SHOP') . '/callback.php?order=' . $invoice_id . '&secret=' . getenv('SHOP_SECRET');
$return_url = getenv('SHOP') . '/thanks.php?order=' . $invoice_id;
$parameters = array(
    'vendor' => getenv('VENDOR'),
    'invoice' => $invoice_id,
    'secret' => getenv('SECRET'),
    'currency' => 'USD',
    'email' => urlencode('buyer@example.com'),
    'price' => getenv('PRICE'),
    'callbackUrl' => urlencode($callback_url),
    'returnUrl' => urlencode($return_url),
);
try {
    $data = $litepay->merchant($parameters);
    if ($data->status == 'success') {
        echo json_encode(array('url' => $data->url));
    }
} catch (Exception $e) {
    echo json_encode(array('error' => $e->getMessage()));
}
