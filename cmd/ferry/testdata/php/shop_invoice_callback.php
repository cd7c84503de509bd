<?php
// A shop's invoice callback for `php -S`, checking the signature as
// README shows, with the vendor's key (FERRY_WEBHOOK_SECRET): 403 to a
// request that fails the check, *ok* to one that passes. It logs every
// request as a JSON line to $MERCHANT_LOG, with what it decided.
require __DIR__ . '/ferry_signature.php';

$url = (isset($_SERVER['HTTPS']) ? 'https' : 'http') . '://' . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'];
$ok = ferry_signature_ok($_SERVER['HTTP_X_FERRY_SIGNATURE'] ?? '', $url, ferry_vendor_key(getenv('FERRY_WEBHOOK_SECRET')));
$entry = ['get' => $_GET, 'url' => $url, 'sig_ok' => $ok, 'accepted' => $ok, 'phase' => 'start'];
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
if (!$ok) {
    http_response_code(403);
} else {
    // ... mark invoice $_GET['invoice'] as $_GET['status'] ...
    echo '*ok*';
}
$entry['phase'] = 'end';
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
