<?php
// A shop's Coinremitter notify_url for `php -S`: it reads the invoice ferry
// posts (a form; PHP decodes total_amount[LTC] into arrays, as Coinremitter's
// plugins read $_POST), checks the webhook signature with
// $FERRY_WEBHOOK_SECRET as README shows, and logs both, as JSON lines, to
// $MERCHANT_LOG (phase "end"). It answers 200 once it has logged a good one.
require __DIR__ . '/verify_webhook.php';

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    echo 'ok'; // the harness's ping
    exit;
}
$headers = array_change_key_case(getallheaders(), CASE_LOWER);
$body = file_get_contents('php://input');
$entry = array('phase' => 'end', 'url' => $_SERVER['REQUEST_URI'], 'id' => $headers['webhook-id'] ?? '',
    'content_type' => $headers['content-type'] ?? '', 'post' => $_POST);
try {
    verify_webhook(getenv('FERRY_WEBHOOK_SECRET'), $headers, $body);
    $entry['accepted'] = true;
} catch (Exception $e) {
    $entry['accepted'] = false;
    $entry['error'] = $e->getMessage();
}
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
http_response_code($entry['accepted'] ? 200 : 400);
