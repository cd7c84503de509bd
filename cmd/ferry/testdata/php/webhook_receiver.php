<?php
// A shop's webhook receiver for `php -S`, with README's verification of
// ferry's signed webhooks (Standard Webhooks): it checks each POST with
// $FERRY_WEBHOOK_SECRET and logs what it decided, as JSON lines, to
// $MERCHANT_LOG (with phase "end", as the other PHP merchants log).

// --- README: verifying a webhook in PHP ---
function verify_webhook(string $secret, array $headers, string $body): array
{
    $id = $headers['webhook-id'] ?? '';
    $ts = $headers['webhook-timestamp'] ?? '';
    $sigs = $headers['webhook-signature'] ?? '';
    if ($id === '' || !ctype_digit($ts) || abs(time() - (int) $ts) > 300) {
        throw new Exception('stale or unsigned webhook');
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
    $expected = base64_encode(hash_hmac('sha256', "$id.$ts.$body", $key, true));
    foreach (explode(' ', $sigs) as $s) {
        [$v, $sig] = array_pad(explode(',', $s, 2), 2, '');
        if ($v === 'v1' && hash_equals($expected, $sig)) {
            return json_decode($body, true);
        }
    }
    throw new Exception('bad webhook signature');
}
// --- end of README's code ---

$headers = array_change_key_case(getallheaders(), CASE_LOWER);
$body = file_get_contents('php://input');
$entry = array('phase' => 'end', 'url' => $_SERVER['REQUEST_URI'], 'id' => $headers['webhook-id'] ?? '', 'body' => $body);
try {
    $entry['event'] = verify_webhook(getenv('FERRY_WEBHOOK_SECRET'), $headers, $body);
    $entry['accepted'] = true;
    http_response_code(204);
} catch (Exception $e) {
    $entry['accepted'] = false;
    $entry['error'] = $e->getMessage();
    http_response_code(400);
}
file_put_contents(getenv('MERCHANT_LOG'), json_encode($entry) . "\n", FILE_APPEND | LOCK_EX);
