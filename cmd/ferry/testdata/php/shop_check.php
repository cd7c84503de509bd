<?php
// The shop polls LitePay's check call with the PHP class and prints what
// it answered. Environment: FERRY, METHOD, ADDRESS (the input address).
require __DIR__ . '/litepay_class.php';

$litepay = new litepay('api', getenv('FERRY'));
try {
    echo json_encode($litepay->check(array('method' => getenv('METHOD'), 'address' => getenv('ADDRESS'))));
} catch (Exception $e) {
    echo json_encode(array('error' => $e->getMessage()));
}
