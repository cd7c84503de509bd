<?php
// A shop's checkout with LitePay's PHP class: one order, its callback URL
// carrying the order's invoice number and the shop's secret, urlencoded
// before the class builds the query (so encoded twice on the wire), as
// LitePay's own example does. It prints the input address to pay, or the
// class's exception. Environment: FERRY (base URL), SHOP (the shop's base
// URL), METHOD (btc or ltc), PAYOUT (the shop's address), INVOICE, SECRET.
require __DIR__ . '/litepay_class.php';

$litepay = new litepay('api', getenv('FERRY'));
$callback_url = getenv('SHOP') . '/callback.php?id=7&invoice=' . getenv('INVOICE') . '&secret=' . getenv('SECRET');
$parameters = array(
    'address' => getenv('PAYOUT'),
    'method' => getenv('METHOD'),
    'callback' => urlencode($callback_url),
    'callback_req' => 1,
);
try {
    $new_address = $litepay->receive($parameters);
    if ($new_address->status == "success") {
        echo json_encode(array('address' => $new_address->address, 'callback_url' => $new_address->callback_url, 'fee' => $new_address->fee));
    }
} catch (Exception $e) {
    echo json_encode(array('error' => $e->getMessage()));
}
