<?php
// A shop running LitePay's WooCommerce plugin (v0.2), written in its
// style: the same form to /p/ (the email urlencoded before WordPress
// builds the form, the URLs not; the invoice "<order>-<5 hex>"), the same
// fields read, and its callback's own test of what it is sent. Settings
// from the environment: FERRY (its API URL, hard-coded to litepay.ch/p/
// in the plugin), VENDOR, SECRET, SITE (get_site_url), ORDER_STATUS (the
// status a callback sets). Not the plugin's code.
//
// From php-cli it is process_payment for WooCommerce order $ORDER_ID of
// $TOTAL $CURRENCY: it prints {"result", "redirect", "status", "message"}.
// Under php -S it is WooCommerce's ?wc-api= dispatch of the plugin's
// callback: "*ok*" once it marks the order, "-1" when it refuses; it logs
// each request to $MERCHANT_LOG.
require __DIR__ . '/wordpress.php';

function lp_create_order($order, $total)
{
    $secret = getenv('SECRET');
    $callback = getenv('SITE') . '/?wc-api=litepay_callback&secretid=' . $secret . '&orderid=' . $order->get_id();
    $return = getenv('SITE') . '/checkout/order-received/' . $order->get_id() . '/?key=wc_order_' . $order->get_id();
    $payload = array(
        'vendor' => getenv('VENDOR'),
        'secret' => $secret,
        'invoice' => $order->get_id() . '-' . substr(md5(rand(1, pow(2, 16))), 0, 5),
        'price' => $total,
        'currency' => $order->get_currency(),
        'email' => urlencode($order->get_billing_email()),
        'returnUrl' => $return,
        'callbackUrl' => $callback,
    );
    $response = wp_remote_post(getenv('FERRY') . '/p/', array('timeout' => 5, 'httpversion' => '1.0', 'headers' => array(), 'body' => $payload));
    if (is_wp_error($response)) {
        return null;
    }
    return json_decode(wp_remote_retrieve_body($response));
}

function process_payment($order_id)
{
    $order = wc_get_order($order_id);
    $body = lp_create_order($order, $order->get_total()); // (a shop whose prices include no tax)
    if ($body->status === 'success') {
        $order->update_status('on-hold', 'Waiting for LITEPAY callback payment');
        return array('result' => 'success', 'redirect' => $body->url, 'status' => $body->status);
    }
    if ($body->status === 'error') {
        $order->update_status('failed', 'Error message response from litepay.ch Merchant : ' . $body->message);
        return array('status' => $body->status, 'message' => $body->message);
    }
    return array();
}

// callback answers "*ok*" (exit) once every value it needs is there and
// the order exists, marking the order if the secret matches; otherwise it
// returns, which WooCommerce answers "-1".
function callback()
{
    $cb = $_GET;
    if (!(isset($cb['orderid']) && is_numeric($cb['orderid']) && isset($cb['secretid']) &&
        isset($cb['value']) && is_numeric($cb['value']) &&
        isset($cb['input_address']) && isset($cb['destination_address']) && isset($cb['transaction_hash']) &&
        isset($cb['confirmations']) && is_numeric($cb['confirmations']))) {
        return false;
    }
    $order = wc_get_order($cb['orderid']);
    if (!$order) {
        return false;
    }
    $amount = sanitize_text_field($cb['value']) / 100000000;
    $coin = sanitize_text_field($cb['coin']);
    $notes = "Received payment: $coin $amount $coin Generated address: " . sanitize_text_field($cb['input_address']) .
        ' To: ' . sanitize_text_field($cb['destination_address']) . ' TxID: ' . sanitize_text_field($cb['transaction_hash']) .
        ' Confirmations: ' . sanitize_text_field($cb['confirmations']) . ' invoiceID: ' . $cb['orderid'];
    if ($order->get_status() != getenv('ORDER_STATUS') && getenv('SECRET') == sanitize_text_field($cb['secretid'])) {
        $order->update_status(getenv('ORDER_STATUS'), $notes);
        wc_reduce_stock_levels($order->get_id());
    }
    return true;
}

if (PHP_SAPI === 'cli') {
    wc_create_order(getenv('ORDER_ID'), getenv('TOTAL'), getenv('CURRENCY'));
    echo json_encode(process_payment(getenv('ORDER_ID')));
    exit;
}
if (($_GET['mode'] ?? '') === 'ok') {
    exit; // the harness's ping
}
$ok = ($_GET['wc-api'] ?? '') === 'litepay_callback' && callback();
$url = 'http://' . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'];
file_put_contents(getenv('MERCHANT_LOG'), json_encode(array('phase' => 'end', 'get' => $_GET, 'url' => $url, 'accepted' => $ok)) . "\n",
    FILE_APPEND | LOCK_EX);
echo $ok ? '*ok*' : '-1';
