<?php
// LitePay's receive example, as its API documentation gives it. The test
// replaces the placeholders and the two hosts, nothing else.
$secret = 'NTIzMzUxN2E4Yjc2YWEzNDI0M2NlMjZh';
$my_address = '{YOUR BITCOIN/LITECOIN ADDRESS}';
$my_callback_url = 'http://yourwebsite.com/callbackurl.php?call=123&secret='.$secret;
$method = '{YOUR METHOD, BITCOIN OR LITECOIN}';
$parameters = 'address=' . $my_address . '&method=' . $method . '&callback='. urlencode($my_callback_url);
$response = file_get_contents('http://litepay.ch/api/receive?' . $parameters);
$object = json_decode($response);
echo 'Send Payment To : ' . $object->input_address;
