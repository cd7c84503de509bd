<?php
// A shop running Payscrypt's WooCommerce plugin (payscrypt-woocommerce,
// version $VERSION: 1a51a4a or 2dfd9d8), written in its style: the same
// calls, bodies and headers, and the same fields read, with its settings
// from the environment (FERRY, the API endpoint; APIKEY; WALLET, the
// pg_wallet_id setting, "" by default). Not the plugin's code.
//
// From php-cli it is process_payment for WooCommerce order $ORDER_ID of
// $TOTAL in BTC: it prints {"result", "redirect", "charge_id"}. Under
// php -S it is the webhook handler (?wc-api=WC_Gateway_Payscrypt): it
// checks the order the webhook names, applies its status to the shop
// order the webhook names, and logs to $MERCHANT_LOG what it did.
require __DIR__ . '/wordpress.php';

$version = getenv('VERSION');

// bcmul with scale 0, as the plugin converts the total to base units
// (php-cli here may lack bcmath): the decimal times 10^$places, the
// digits past it dropped.
function base_units($amount, $places)
{
    if (function_exists('bcmul')) {
        return bcmul($amount . '', '1' . str_repeat('0', $places), 0);
    }
    list($whole, $frac) = array_pad(explode('.', $amount . ''), 2, '');
    $digits = ltrim($whole . substr(str_pad($frac, $places, '0'), 0, $places), '0');
    return $digits === '' ? '0' : $digits;
}

// api_call is the plugin's request: WordPress's HTTP API, success only on
// status 200, then the body decoded as an array.
function api_call($method, $path, $headers, $body = null)
{
    $args = array('method' => $method, 'headers' => $headers);
    if ($body !== null) {
        $args['body'] = json_encode($body);
    }
    $response = wp_remote_request(esc_url_raw(getenv('FERRY') . $path), $args);
    if (is_wp_error($response)) {
        return array(false, $response->get_error_message());
    }
    $code = $response['response']['code'];
    if ($code == 200) {
        return array(true, json_decode($response['body'], true));
    }
    return array(false, $code);
}

// create_charge builds the create call of either version.
function create_charge($order_id, $description, $amount, $currency, $redirect)
{
    global $version;
    if ($currency != 'BTC' && $currency != 'ETH' && $currency != 'LCCN') {
        return array(false, 'Unsupport currency.');
    }
    $value = base_units($amount, $currency == 'BTC' ? 8 : 18);
    $headers = array('apikey' => getenv('APIKEY'), 'Content-Type' => 'application/json');
    if ($version == '1a51a4a') {
        return api_call('POST', '/apis/pg/create_order', $headers, array(
            'merchant_order_id' => $order_id . '', 'merchant_name' => '', 'description' => $description,
            'asset_name' => $currency, 'callback_url' => $redirect, 'pg_wallet_id' => getenv('WALLET') ?: '',
            'target_value' => $value));
    }
    return api_call('POST', '/payment/v1/invoice', $headers, array(
        'merchant_invoice_id' => $order_id . '', 'wallet_id' => getenv('WALLET') ?: '', 'redirect_url' => $redirect,
        'description' => $description, 'asset' => $currency, 'price' => $value));
}

// process_payment: the charge's code kept as the order's reference, the
// buyer sent to its page.
function process_payment($order_id)
{
    global $version;
    $order = wc_get_order($order_id);
    $return = 'https://shop.example/checkout/order-received/' . $order_id . '/?key=wc_order_' . $order_id;
    $result = create_charge($order_id, '1 x Mug, 2 x Café', $order->get_total(), $order->get_currency(), $return);
    if (!$result[0]) {
        return array('result' => 'fail', 'error' => $result[1]);
    }
    $charge = $version == '1a51a4a' ? $result[1]['order'] : $result[1]['invoice'];
    $order->update_meta_data('_payscrypt_charge_id', $charge['code']);
    $order->save();
    return array('result' => 'success', 'redirect' => $version == '1a51a4a' ? $charge['redirect_url'] : $charge['payment_url'],
        'charge_id' => $charge['code']);
}

// handle_webhook: the id and merchant_order_id of the body, the order's
// status asked of the API (no key), applied whatever the answer.
function handle_webhook()
{
    global $version;
    $payload = file_get_contents('php://input');
    if (empty($payload)) {
        http_response_code(500);
        return array('error' => 'empty webhook');
    }
    $data = json_decode($payload, true);
    $pg_order_id = $data['id'];
    $order_id = $data['merchant_order_id'];
    if ($version == '1a51a4a') {
        $result = api_call('POST', '/apis/pg/get_public_order', array('Content-Type' => 'application/json'),
            array('id' => $pg_order_id, 'with_payments' => false));
        $new_status = @$result[1]['order']['status'];
    } else {
        $result = api_call('GET', '/payment/v1/invoice/' . '/' . $pg_order_id, array('Content-Type' => 'application/json'));
        $new_status = @$result[1]['invoice']['status'];
    }
    update_order_status(wc_get_order(intval($order_id)), $new_status);
    return array('event' => $data, 'checked' => $result[0], 'status' => $new_status);
}

// update_order_status maps Payscrypt's statuses to WooCommerce's.
function update_order_status($order, $new_status)
{
    $order->update_meta_data('_payscrypt_status', $new_status);
    $map = array('PENDING' => 'pending', 'CONFIRMING' => 'on-hold', 'EXPIRED' => 'failed', 'CANCELED' => 'cancelled');
    if ($new_status === 'SUCCESSFUL') {
        $order->payment_complete();
    } elseif (isset($map[$new_status])) {
        $order->update_status($map[$new_status]);
    }
}

if (PHP_SAPI === 'cli') {
    wc_create_order(getenv('ORDER_ID'), getenv('TOTAL'), 'BTC');
    echo json_encode(process_payment(getenv('ORDER_ID')));
    exit;
}
if (($_GET['mode'] ?? '') === 'ok') {
    exit; // the harness's ping
}
if (strtolower($_GET['wc-api'] ?? '') !== 'wc_gateway_payscrypt') {
    http_response_code(400);
    exit('-1');
}
$entry = handle_webhook();
$entry['phase'] = 'end';
$entry['get'] = array('order' => (string) ($entry['event']['merchant_order_id'] ?? ''), 'status' => (string) ($entry['status'] ?? ''));
$entry['accepted'] = $entry['checked'] ?? false;
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
