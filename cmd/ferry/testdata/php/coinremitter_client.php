<?php
// A shop's Coinremitter client, as the seed's curl examples call the API:
// a POST of multipart/form-data (curl's CURLOPT_POSTFIELDS given an array)
// to <base>/api/v3/<COIN>/<action> with the wallet's api_key and password,
// answered {"flag","msg","action","data"}. It creates an invoice and reads
// it back, and prints both answers as JSON.
// Environment: FERRY, COIN, API_KEY, PASSWORD, AMOUNT, CURRENCY, NOTIFY,
// SHOP.

function coinremitter_call(string $base, string $coin, string $action, array $fields): array
{
    $ch = curl_init("$base/api/v3/$coin/$action");
    curl_setopt_array($ch, array(
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $fields, // an array: multipart/form-data
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HTTPHEADER => array('Accept: application/json'),
        CURLOPT_TIMEOUT => 30,
    ));
    $body = curl_exec($ch);
    if ($body === false) {
        throw new Exception('curl: ' . curl_error($ch));
    }
    $status = curl_getinfo($ch, CURLINFO_HTTP_CODE);
    curl_close($ch);
    $reply = json_decode($body, true);
    if (!is_array($reply) || !isset($reply['flag'])) {
        throw new Exception("HTTP $status: $body");
    }
    return $reply;
}

$wallet = array('api_key' => getenv('API_KEY'), 'password' => getenv('PASSWORD'));
$created = coinremitter_call(getenv('FERRY'), getenv('COIN'), 'create-invoice', $wallet + array(
    'amount' => getenv('AMOUNT'),
    'name' => 'random name',
    'currency' => getenv('CURRENCY'),
    'expire_time' => '60',
    'notify_url' => getenv('NOTIFY'),
    'suceess_url' => getenv('SHOP') . '/success-url',
    'fail_url' => getenv('SHOP') . '/fail-url',
    'description' => 'Hello world',
    'custom_data1' => 'order-7',
    'custom_data2' => 'customer-3',
));
$read = null;
if ($created['flag'] == 1) {
    $read = coinremitter_call(getenv('FERRY'), getenv('COIN'), 'get-invoice', $wallet + array(
        'invoice_id' => $created['data']['invoice_id'],
    ));
}
echo json_encode(array('created' => $created, 'read' => $read));
