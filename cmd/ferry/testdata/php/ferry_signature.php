<?php
// Checks a ferry callback's X-Ferry-Signature header: $url is the URL the
// request was made to, $key the text of ferry's callback.key.
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
