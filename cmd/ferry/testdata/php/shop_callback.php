<?php
// The shop's callback script for `php -S`, as LitePay's example callback:
// it answers *ok* only to a callback whose own parameters are the shop's
// (its secret, its invoice number), and logs every request as a JSON line
// to $MERCHANT_LOG, with what it decided. Environment: INVOICE, SECRET.
$entry = array(
    'get' => $_GET,
    'url' => 'http://' . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'],
    'phase' => 'start',
);
$ok = ($_GET['secret'] ?? '') === getenv('SECRET') && ($_GET['invoice'] ?? '') === getenv('INVOICE')
    && (int) ($_GET['confirmations'] ?? -1) >= 0 && ctype_digit($_GET['value'] ?? '');
$entry['accepted'] = $ok;
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
if ($ok) {
    echo "*ok*";
} else {
    echo "unknown order";
}
$entry['phase'] = 'end';
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
