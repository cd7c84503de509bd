<?php
// README's verification of ferry's signed webhooks (Standard Webhooks), as
// the shops' receivers in these tests run it.

// --- README: verifying a webhook in PHP ---
function verify_webhook(string $secret, array $headers, string $body): string
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
            return $body;
        }
    }
    throw new Exception('bad webhook signature');
}
// --- end of README's code ---
