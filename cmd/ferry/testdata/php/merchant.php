<?php
// A merchant's callback script for `php -S`: it checks the signature, logs
// the request as a JSON line to $MERCHANT_LOG, and answers as its mode
// parameter (part of the merchant's own callback URL) says.
require __DIR__ . '/ferry_signature.php';

$url = 'http://' . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'];
$entry = [
    'get' => $_GET,
    'url' => $url,
    'sig_ok' => ferry_signature_ok($_SERVER['HTTP_X_FERRY_SIGNATURE'] ?? '', $url, getenv('FERRY_CALLBACK_KEY')),
];
function merchant_log(array $entry, string $phase): void
{
    $entry['phase'] = $phase;
    file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
}
merchant_log($entry, 'start');

switch ($_GET['mode'] ?? 'ok') {
    case 'ok':
        echo "*ok*\n";
        break;
    case 'no':
        echo "received, thanks";
        break;
    case 'redirect':
        header('Location: http://127.0.0.1:' . $_GET['to'] . '/');
        http_response_code(302);
        break;
    case 'error':
        http_response_code(500);
        echo "*ok*";
        break;
    case 'hang':
        sleep(15);
        echo "*ok*";
        break;
}
merchant_log($entry, 'end');
