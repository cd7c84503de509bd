<?php
// A WooCommerce shop's checkout as ForumPay's plugin (v2.5.0) drives it,
// through forumpay_client.php: each step a new client object (the plugin
// makes one per request, so each starts with curl's unauthenticated try).
// Every warning is fatal (forumpay_client.php's error handler).
//   php forumpay_shop.php start   the admin's webhook test, the currency
//                                 list, rates, StartPayment (twice: the
//                                 second, a wallet app chosen, cancels the
//                                 first), CheckPayment; prints JSON
//   php forumpay_shop.php check   CheckPayment of the order's last payment
// Environment: FERRY (http://host:port/v2), VENDOR, KEY, ORDER, ORDERS (a
// directory: the orders' meta, as the plugin keeps it), WEBHOOK, INSTANCE.
declare(strict_types=1);
require __DIR__ . '/forumpay_client.php';

const POS = 'woocommerce-1';

function client(): FpClient
{
    return new FpClient(getenv('FERRY'), getenv('VENDOR'), getenv('KEY'), 'en_US');
}

function metaPath(string $order): string
{
    return getenv('ORDERS') . "/$order.json";
}

function meta(string $order): array
{
    return is_file(metaPath($order)) ? json_decode(file_get_contents(metaPath($order)), true) : ['payments' => [], 'last' => null];
}

// The plugin's startPayment request: StartPayment, then the order's other
// Waiting payments of this POS cancelled (GetTransactions and
// CancelPayment, on the same client: posts of StartPayment's form again).
function startPayment(string $order): array
{
    $api = client();
    $start = $api->startPayment(POS, 'EUR', '9.25', 'LTC', $order, 'buyer@shop.example', "guest_{$order}_8f2d", getenv('WEBHOOK'));
    if ($start->statsToken !== '' || $start->address === '' || $start->currency !== 'LTC') {
        throw new RuntimeException('StartPayment: ' . json_encode($start));
    }
    $meta = meta($order);
    $meta['payments'][$start->paymentId] = get_object_vars($start);
    $meta['last'] = $start->paymentId;
    file_put_contents(metaPath($order), json_encode($meta));
    $cancelled = [];
    foreach ($api->getTransactions(null, null, $order) as $inv) {
        if ($inv->paymentId === $start->paymentId || strtolower($inv->status) !== 'waiting' || $inv->posId !== POS) {
            continue;
        }
        $c = $api->cancelPayment(POS, $inv->currency, $inv->paymentId, $inv->address, '', '');
        if (!$c->cancelled || $c->status !== 'Cancelled') {
            throw new RuntimeException('CancelPayment: ' . json_encode($c));
        }
        $cancelled[] = $inv->paymentId;
    }
    return [$start, $cancelled];
}

function checkPayment(string $order): FpCheck
{
    $meta = meta($order);
    $p = $meta['payments'][$meta['last']];
    return client()->checkPayment(POS, $p['currency'], $meta['last'], $p['address']);
}

$order = getenv('ORDER');
switch ($argv[1] ?? '') {
case 'start':
    $admin = client();
    $ping = $admin->ping(getenv('WEBHOOK'));
    $w = $ping->webhookResponse;
    $test = [(string) $w['status'], (float) $w['duration'], (string) $w['webhook_url'], $w['response_code'], $w['response_body']];
    $message = json_decode((string) $test[4])->message ?? $test[4];
    if ($test[0] !== 'ok' || !hash_equals(hash('sha256', getenv('INSTANCE')), (string) $message)) {
        throw new RuntimeException('the webhook test: ' . json_encode($w));
    }
    $codes = [];
    foreach (client()->getCurrencyList('EUR') as $c) {
        if ($c->status === 'OK') {
            $codes[] = $c->currency;
        }
    }
    $rates = client()->getRates(POS, 'EUR', '9.25', implode(',', $codes), 'false');
    $rate = client()->getRate(POS, 'EUR', '9.25', 'LTC', 'false');
    if ($codes !== ['LTC'] || ($rates->currencies['LTC']['amount'] ?? '') !== $rate->amount) {
        throw new RuntimeException('rates: ' . json_encode([$codes, $rates, $rate]));
    }
    [$first] = startPayment($order);
    [$start, $cancelled] = startPayment($order);
    $check = checkPayment($order);
    echo json_encode(['payment_id' => $start->paymentId, 'address' => $start->address, 'amount' => $start->amount,
        'access_url' => $start->accessUrl, 'first' => $first->paymentId, 'cancelled' => $cancelled, 'status' => $check->status,
        'state' => $check->state, 'apps' => count(client()->getWalletApps())]);
    break;
case 'check':
    $check = checkPayment($order);
    echo json_encode(['status' => $check->status, 'state' => $check->state, 'confirmed' => $check->confirmed,
        'confirmations' => $check->confirmations, 'invoice_amount' => $check->invoiceAmount, 'payment' => $check->payment]);
    break;
default:
    fwrite(STDERR, "usage: forumpay_shop.php start|check\n");
    exit(2);
}
