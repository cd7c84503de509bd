<?php
// Checks a ferry callback's X-Ferry-Signature header: $url is the URL the
// request was made to, $key the key of the callback's kind: for a deposit
// callback (/api/receive) the text of ferry's callback.key; for an invoice
// callback (an invoice's callbackUrl) the vendor's own key,
// ferry_vendor_key($webhook_secret).
// --- README: checking a callback's signature in PHP ---
function ferry_signature_ok(string $header, string $url, string $key, int $tolerance = 300): bool
{
    if (!preg_match('/^t=(\d+),v1=([0-9a-f]{64})$/', $header, $m)) {
        return false;
    }
    if (abs(time() - (int) $m[1]) > $tolerance) {
        return false; // too old: a replay
    }
    $expected = hash_hmac('sha256', $m[1] . '.' . $url, $key);
    return hash_equals($expected, $m[2]);
}

// The key of a vendor's invoice callbacks: the bytes of its webhook_secret
// ("whsec_" and base64), as `ferry vendor add` prints it.
function ferry_vendor_key(string $webhook_secret): string
{
    return base64_decode(preg_replace('/^whsec_/', '', $webhook_secret), true);
}
// --- end of README
