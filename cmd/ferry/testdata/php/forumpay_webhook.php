<?php
// A WooCommerce shop's ForumPay webhook endpoint for `php -S`, as the
// plugin (v2.5.0, Model/Webhook.php) handles it: the JSON body read from
// php://input; a webhook_test answered {"message":<hash>}; otherwise
// payment_id and reference_no required, the payment found in the order's
// meta (forumpay_shop.php keeps it), and CheckPayment asked with the
// shop's own credentials: Confirmed marks the order paid; Cancelled fails
// it once all of the order's payments are. Each request is logged, as a
// JSON line, to $MERCHANT_LOG (phase "end"). Every warning is fatal.
// Environment: as forumpay_shop.php, and MERCHANT_LOG.
declare(strict_types=1);
require __DIR__ . '/forumpay_client.php';

const POS = 'woocommerce-1';

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    echo 'ok'; // the harness's ping
    exit;
}
$entry = ['phase' => 'end', 'query' => $_GET];
try {
    $body = json_decode(file_get_contents('php://input'), true) ?? [];
    $entry['event'] = $body;
    if (isset($body['webhook_test'])) {
        $entry['test'] = true;
        header('Content-Type: application/json');
        echo json_encode(['message' => hash('sha256', getenv('INSTANCE'))]);
    } elseif (!isset($body['payment_id'], $body['reference_no']) || ($_GET['act'] ?? '') !== 'webhook') {
        http_response_code(400);
        echo json_encode(['code' => 6005, 'message' => 'Missing required parameter']);
        $entry['error'] = 'missing parameter';
    } else {
        $order = (string) $body['reference_no'];
        $paymentId = (string) $body['payment_id'];
        $meta = json_decode(file_get_contents(getenv('ORDERS') . "/$order.json"), true);
        $p = $meta['payments'][$paymentId];
        $api = new FpClient(getenv('FERRY'), getenv('VENDOR'), getenv('KEY'), 'en_US');
        $check = $api->checkPayment(POS, $p['currency'], $paymentId, $p['address']);
        $entry['status'] = $check->status;
        if (strtolower($check->status) === 'confirmed') {
            file_put_contents(getenv('ORDERS') . "/$order.paid", json_encode(['payment_id' => $paymentId,
                'amount' => $check->invoiceAmount, 'currency' => $check->invoiceCurrency]));
            $entry['order'] = 'paid';
        } elseif (strtolower($check->status) === 'cancelled') {
            $all = true;
            foreach ($api->getTransactions(null, null, $order) as $inv) {
                $all = $all && (strtolower($inv->status) === 'cancelled' || $inv->posId !== POS);
            }
            $entry['order'] = $all ? 'failed' : 'pending';
        }
    }
} catch (Throwable $e) {
    http_response_code(500);
    $entry['error'] = get_class($e) . ': ' . $e->getMessage();
}
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
