<?php
// A shop's notify_url for `php -S`, as Coinremitter's WooCommerce plugin
// (1.1.2, includes/coinremitter.notify.php) handles an invoice's
// notification: it reads only $_POST['invoice_id'] and $_POST['coin'],
// then checks the invoice with get-invoice, posted as the plugin's
// wp_remote_post does (a JSON body with the wallet's api_key and
// password, Content-Type: application/json, to
// <FERRY>/api/v3/<COIN>/get-invoice), and acts on its status_code: 1 or 3
// paid, 4 expired, any other not paid yet. It reads status_code,
// paid_amount, payment_history and url as the plugin does, and logs what
// it read and answered, as JSON lines, to $MERCHANT_LOG (phase "end").
// Environment: FERRY, API_KEY, PASSWORD.

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    exit('only post method allowed.'); // and the harness's ping
}

function answer(array $entry, string $text)
{
    $entry['phase'] = 'end';
    $entry['answer'] = $text;
    file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
    exit($text);
}

$param = array();
$param['invoice_id'] = trim(strip_tags($_POST['invoice_id'] ?? ''));
$param['coin'] = trim(strip_tags($_POST['coin'] ?? ''));
$entry = array('post' => $param, 'content_type' => $_SERVER['CONTENT_TYPE'] ?? '');
if ($param['invoice_id'] === '' || $param['coin'] === '') {
    answer($entry, 'something might wrong.');
}

// The cross check: get-invoice, as wp_remote_post sends it.
$coin = strtoupper($param['coin']);
$ch = curl_init(rtrim(getenv('FERRY'), '/') . '/api/v3/' . $coin . '/get-invoice');
curl_setopt_array($ch, array(
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => json_encode(array('api_key' => getenv('API_KEY'), 'password' => getenv('PASSWORD'), 'invoice_id' => $param['invoice_id'])),
    CURLOPT_HTTPHEADER => array('Content-Type: application/json'),
    CURLOPT_USERAGENT => 'CR@v3,wordpress worwoocommerce-wordpress-master@1.1.2',
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => 45,
));
$response = curl_exec($ch);
curl_close($ch);
$check = json_decode((string) $response, true);
if (!is_array($check) || $check['flag'] != 1) {
    $entry['check'] = $check;
    answer($entry, 'something might wrong while cross checking.');
}
$inv = $check['data'];
$entry['invoice'] = array(
    'invoice_id' => $inv['invoice_id'], 'coin' => $inv['coin'], 'address' => $inv['address'], 'status' => $inv['status'],
    'status_code' => $inv['status_code'], 'url' => $inv['url'],
    // re-encoded as the plugin stores them
    'paid_amount' => json_encode($inv['paid_amount']), 'payment_history' => json_encode($inv['payment_history']),
    'total_amount' => json_encode($inv['total_amount']),
);
if ($inv['status_code'] == 3 || $inv['status_code'] == 1) {
    answer($entry, 'transaction processed successfully.');
}
if ($inv['status_code'] == 4) {
    answer($entry, 'order canceled.');
}
answer($entry, 'payment not pay.');
