<?php
// A shop's webhook receiver for `php -S`, with README's verification of
// ferry's signed webhooks (Standard Webhooks, verify_webhook.php): it
// checks each POST with $FERRY_WEBHOOK_SECRET and logs what it decided, as JSON lines, to
// $MERCHANT_LOG (with phase "end", as the other PHP merchants log).

require __DIR__ . '/verify_webhook.php';

$headers = array_change_key_case(getallheaders(), CASE_LOWER);
$body = file_get_contents('php://input');
$entry = array('phase' => 'end', 'url' => $_SERVER['REQUEST_URI'], 'id' => $headers['webhook-id'] ?? '', 'body' => $body);
try {
    $entry['event'] = json_decode(verify_webhook(getenv('FERRY_WEBHOOK_SECRET'), $headers, $body), true);
    $entry['accepted'] = true;
    http_response_code(204);
} catch (Exception $e) {
    $entry['accepted'] = false;
    $entry['error'] = $e->getMessage();
    http_response_code(400);
}
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
