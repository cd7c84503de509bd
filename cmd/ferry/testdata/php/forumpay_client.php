<?php
// A ForumPay Payment Gateway client written in the style of ForumPay's own
// PHP client (forumpay/payment-gateway-php-client 1.6.0; our own code, not
// a copy): the same calls, the same encodings, the same fields read and
// validated. As it does:
// - one curl handle per client object, with CURLAUTH_ANY (curl first tries
//   without credentials, and sends Basic after a 401 asking for it), and
//   CURLOPT_POST set for a POST and never turned off: once StartPayment is
//   posted, every later call of the object is a POST sending that form
//   again, its own parameters in the query;
// - GET calls' parameters in the query (http_build_query: nulls left out),
//   StartPayment's and RequestKyc's as a multipart form (curl given an
//   array: nulls as empty parts);
// - an error status is an exception with the body's err, its err_code (or
//   the status) typed int; a 2xx answer with an err an exception too;
// - each answer read into typed constructors under strict_types: a field
//   missing or of another type is a TypeError, or a warning, and the shop
//   runs this with error_reporting(E_ALL) and every warning fatal.
declare(strict_types=1);

error_reporting(E_ALL);
set_error_handler(function (int $no, string $msg, string $file, int $line): bool {
    throw new ErrorException($msg, 0, $no, $file, $line);
});

final class FpStatusError extends Exception
{
    // $code is int, as the client's: a text err_code is a TypeError.
    public function __construct(string $message, public int $status)
    {
        parent::__construct($message);
    }
}

final class FpApiError extends Exception
{
    public function __construct(string $message, public ?string $errorCode, public ?array $additional)
    {
        parent::__construct($message);
    }
}

final class FpClient
{
    private $curl;
    private string $base;

    public function __construct(string $base, private string $user, private string $secret, private string $locale = 'en_US')
    {
        $this->base = trim(rtrim($base, '/'));
        $this->curl = curl_init();
    }

    public function __destruct()
    {
        curl_close($this->curl);
    }

    /** One call: GET with the query, or POST of a multipart form. */
    public function call(string $method, string $action, array $params): array
    {
        $uri = "{$this->base}/$action/";
        $url = ($method === 'POST' || empty($params)) ? $uri : $uri . '?' . http_build_query($params);
        curl_setopt($this->curl, CURLOPT_URL, $url);
        curl_setopt($this->curl, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($this->curl, CURLOPT_HTTPHEADER, ['Cache-Control: no-cache', 'User-Agent: PaymentGateway PHP Client 1.6.0; ferry-test',
            'Accept: */*', 'Connection: keep-alive']);
        curl_setopt($this->curl, CURLOPT_HTTPAUTH, CURLAUTH_ANY);
        curl_setopt($this->curl, CURLOPT_USERPWD, trim($this->user) . ':' . trim($this->secret));
        curl_setopt($this->curl, CURLOPT_ENCODING, '');
        curl_setopt($this->curl, CURLOPT_TIMEOUT, 30);
        if ($method === 'POST') {
            curl_setopt($this->curl, CURLOPT_POST, true);
            curl_setopt($this->curl, CURLOPT_POSTFIELDS, $params);
        }
        $body = curl_exec($this->curl);
        if ($body === false) {
            throw new RuntimeException('curl: ' . curl_error($this->curl));
        }
        $status = curl_getinfo($this->curl, CURLINFO_HTTP_CODE);
        if ($status < 200 || $status > 299) {
            $code = $status;
            $message = $status === 401 ? 'No api key' : 'An error occurred';
            $json = json_decode($body, true);
            if (is_array($json) && array_key_exists('err', $json)) {
                $code = $json['err_code'] ?? $status;
                $message = $json['err'] ?? 'Bad Request';
            }
            throw new FpStatusError($message, $code);
        }
        try {
            $json = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            throw new RuntimeException("$action: not JSON: $body");
        }
        if (is_array($json) && array_key_exists('err', $json)) {
            throw new FpApiError($json['err'], $json['err_code'] ?? null, $json['additional'] ?? null);
        }
        return $json; // array: a JSON scalar is a TypeError, as in the client
    }

    public function ping(?string $webhook = null): FpPing
    {
        $r = $this->call('GET', 'Ping', $webhook !== null ? ['webhook_url' => $webhook] : []);
        return FpPing::from($r);
    }

    /** @return FpCurrency[] */
    public function getCurrencyList(string $invoiceCurrency): array
    {
        $r = $this->call('GET', 'GetCurrencyList', ['invoice_currency' => $invoiceCurrency, 'locale' => $this->locale]);
        return array_map(fn (array $c) => FpCurrency::from($c), $r);
    }

    public function getRates(string $pos, string $invoiceCurrency, string $amount, string $currencies, string $zeroConf): FpRates
    {
        return FpRates::from($this->call('GET', 'GetRates', ['pos_id' => $pos, 'invoice_currency' => $invoiceCurrency,
            'invoice_amount' => $amount, 'currencies' => $currencies, 'accept_zero_confirmations' => $zeroConf,
            'require_kyt_for_confirmation' => null, 'wallet_app_id' => null, 'sid' => null, 'locale' => $this->locale]));
    }

    public function getRate(string $pos, string $invoiceCurrency, string $amount, string $currency, string $zeroConf): FpRate
    {
        return FpRate::from($this->call('GET', 'GetRate', ['pos_id' => $pos, 'invoice_currency' => $invoiceCurrency,
            'invoice_amount' => $amount, 'currency' => $currency, 'accept_zero_confirmations' => $zeroConf,
            'require_kyt_for_confirmation' => null, 'wallet_app_id' => null, 'sid' => null, 'locale' => $this->locale]));
    }

    /** StartPayment as the WooCommerce plugin calls it: payment_id '', nulls as empty parts. */
    public function startPayment(string $pos, string $invoiceCurrency, string $amount, string $currency, string $order,
        string $email, string $payerId, ?string $webhookUrl): FpStart
    {
        $params = ['pos_id' => $pos, 'invoice_currency' => $invoiceCurrency, 'payment_id' => '', 'invoice_amount' => $amount,
            'currency' => $currency, 'reference_no' => $order, 'accept_zero_confirmations' => 'false', 'payer_ip_address' => '127.0.0.1',
            'payer_email' => $email, 'payer_id' => $payerId, 'auto_accept_underpayment' => 'false', 'auto_accept_underpayment_min' => '',
            'auto_accept_overpayment' => 'false', 'auto_accept_late_payment' => 'false', 'payer_user_agent' => null,
            'wallet_app_id' => null, 'sid' => '', 'require_kyt_for_confirmation' => null, 'locale' => $this->locale]
            + ($webhookUrl !== null ? ['webhook_url' => $webhookUrl] : [])
            + ['auto_accept_overpayment_max' => '', 'network_processing_fee_paid_by' => 'payer'];
        return FpStart::from($this->call('POST', 'StartPayment', $params));
    }

    public function checkPayment(string $pos, string $currency, string $paymentId, string $address): FpCheck
    {
        return FpCheck::from($this->call('GET', 'CheckPayment', ['pos_id' => $pos, 'currency' => $currency,
            'payment_id' => $paymentId, 'address' => $address, 'locale' => $this->locale]));
    }

    /** @return FpInvoice[] */
    public function getTransactions(?int $offset, ?int $limit, ?string $referenceNo): array
    {
        $r = $this->call('GET', 'GetTransactions', ['offset' => $offset, 'limit' => $limit, 'reference_no' => $referenceNo,
            'locale' => $this->locale]);
        if (!isset($r['invoices'])) {
            throw new RuntimeException('Invalid GetTransactions response');
        }
        return array_map(fn (array $i) => FpInvoice::from($i), $r['invoices']);
    }

    public function cancelPayment(string $pos, string $currency, string $paymentId, string $address, string $reason, string $comment): FpCancel
    {
        return FpCancel::from($this->call('GET', 'CancelPayment', ['pos_id' => $pos, 'currency' => $currency,
            'payment_id' => $paymentId, 'address' => $address, 'reason' => $reason, 'comment' => $comment, 'locale' => $this->locale]));
    }

    /** @return FpWalletApp[] */
    public function getWalletApps(): array
    {
        return array_map(fn (array $a) => FpWalletApp::from($a), $this->call('GET', 'GetWalletApps', ['locale' => $this->locale]));
    }
}

final class FpPing
{
    public function __construct(public string $result, public ?array $webhookResponse)
    {
        if ($result !== 'pong') {
            throw new RuntimeException('Invalid Ping response');
        }
    }
    public static function from(array $r): self { return new self($r['result'], $r['webhook_response'] ?? []); }
}

final class FpCurrency
{
    public function __construct(public string $currency, public string $description, public string $status, public int $zeroConfirmationsEnabled,
        public string $currencyFiat, public string $iconUrl, public ?string $rate, public string $sellStatus, public ?string $sellRate,
        public string $buyStatus, public ?string $buyRate, public ?string $sellMin, public ?string $sellMax, public ?string $sellFee,
        public ?string $buyMin, public ?string $buyMax, public ?string $buyFee) {}
    public static function from(array $c): self
    {
        return new self($c['currency'], $c['description'], $c['status'], (int) $c['zero_confirmations_enabled'], $c['currency_fiat'],
            $c['icon_url'], $c['rate'], $c['sell_status'], $c['sell_rate'], $c['buy_status'], $c['buy_rate'], $c['sell_min_invoice_amount'],
            $c['sell_max_invoice_amount'], $c['sell_network_processing_fee'], $c['buy_min_invoice_amount'], $c['buy_max_invoice_amount'],
            $c['buy_network_processing_fee']);
    }
}

final class FpRates
{
    public function __construct(public string $paymentId, public string $invoiceAmount, public string $invoiceCurrency, public ?string $sid,
        public array $currencies) {}
    public static function from(array $r): self
    {
        return new self($r['payment_id'], $r['invoice_amount'], $r['invoice_currency'], $r['sid'] ?? null, $r['currencies'] ?? []);
    }
}

final class FpRate
{
    public function __construct(public string $invoiceCurrency, public ?string $invoiceAmount, public string $currency, public ?string $rate,
        public ?string $amountExchange, public string $networkProcessingFee, public ?string $amount, public string $waitTime,
        public ?string $sid, public ?string $fastFee, public ?string $fastFeeCurrency, public string $paymentId) {}
    public static function from(array $r): self
    {
        return new self($r['invoice_currency'], $r['invoice_amount'], $r['currency'], $r['rate'], $r['amount_exchange'],
            $r['network_processing_fee'], $r['amount'], $r['wait_time'], $r['sid'], $r['fast_transaction_fee'],
            $r['fast_transaction_fee_currency'], $r['payment_id']);
    }
}

final class FpStart
{
    public function __construct(public string $invoiceCurrency, public ?string $invoiceAmount, public string $currency, public ?string $rate,
        public ?string $amountExchange, public string $networkProcessingFee, public ?string $amount, public int $minConfirmations,
        public string $waitTime, public ?string $sid, public ?string $fastFee, public ?string $fastFeeCurrency, public bool $cancelled,
        public string $address, public string $qr, public string $qrAlt, public string $qrImg, public string $qrAltImg,
        public ?string $printString, public string $accessToken, public string $accessUrl, public string $statsToken, public array $notices,
        public string $paymentId, public ?array $beneficiaryVaspDetails, public ?string $itemName, public ?string $surchargeAmount,
        public ?string $amountWithSurcharge, public ?string $surchargePercent) {}
    public static function from(array $r): self
    {
        return new self($r['invoice_currency'], $r['invoice_amount'], $r['currency'], $r['rate'], $r['amount_exchange'],
            $r['network_processing_fee'], $r['amount'], (int) $r['min_confirmations'], $r['wait_time'], $r['sid'], $r['fast_transaction_fee'],
            $r['fast_transaction_fee_currency'], $r['cancelled'] ?? false, $r['address'], $r['qr'], $r['qr_alt'], $r['qr_img'],
            $r['qr_alt_img'], $r['print_string'], $r['access_token'], $r['access_url'], $r['stats_token'], $r['notices'], $r['payment_id'],
            $r['beneficiary_vasp_details'] ?? null, $r['item_name'] ?? null, $r['invoice_surcharge_amount'] ?? null,
            $r['invoice_amount_with_surcharge'] ?? null, $r['invoice_surcharge_percent'] ?? null);
    }
}

final class FpUnderpayment
{
    public function __construct(public string $address, public string $missingAmount, public string $qr, public string $qrAlt,
        public string $qrImg, public string $qrAltImg) {}
    public static function from(array $u): self
    {
        return new self($u['address'], $u['missing_amount'], $u['qr'], $u['qr_alt'], $u['qr_img'], $u['qr_alt_img']);
    }
}

final class FpCheck
{
    public function __construct(public ?string $referenceNo, public string $inserted, public ?string $invoiceAmount, public string $type,
        public string $invoiceCurrency, public ?string $amount, public ?string $originalAmount, public int $minConfirmations,
        public bool $acceptZeroConfirmations, public bool $requireKyt, public string $currency, public bool $confirmed,
        public ?string $confirmedTime, public ?string $reason, public ?string $payment, public ?string $sid, public string $confirmations,
        public ?string $accessToken, public ?string $accessUrl, public ?string $waitTime, public string $status,
        public ?string $unconfirmedAmount, public ?string $unconfirmedInvoiceAmount, public ?FpUnderpayment $underpayment,
        public bool $cancelled, public ?string $cancelledTime, public ?string $printString, public string $state, public ?string $itemName,
        public ?string $surchargeAmount, public ?string $amountWithSurcharge, public ?string $surchargePercent) {}
    public static function from(array $r): self
    {
        return new self($r['reference_no'], $r['inserted'], $r['invoice_amount'], $r['type'], $r['invoice_currency'], $r['amount'],
            $r['original_amount'] ?? null, (int) $r['min_confirmations'], (bool) $r['accept_zero_confirmations'],
            (bool) $r['require_kyt_for_confirmation'], $r['currency'], $r['confirmed'], $r['confirmed_time'], $r['reason'], $r['payment'],
            $r['sid'], $r['confirmations'], $r['access_token'], $r['access_url'], $r['wait_time'], $r['status'],
            $r['unconfirmed_amount'] ?? null, $r['unconfirmed_invoice_amount'] ?? null,
            isset($r['underpayment']) ? FpUnderpayment::from($r['underpayment']) : null, $r['cancelled'] ?? false,
            $r['cancelled_time'] ?? null, $r['print_string'], $r['state'], $r['item_name'] ?? null, $r['invoice_surcharge_amount'] ?? null,
            $r['invoice_amount_with_surcharge'] ?? null, $r['invoice_surcharge_percent'] ?? null);
    }
}

final class FpCancel
{
    public function __construct(public bool $cancelled, public string $status) {}
    public static function from(array $r): self { return new self($r['cancelled'], $r['status']); }
}

final class FpInvoice
{
    public function __construct(public string $state, public string $status, public string $statusLoc, public string $posId,
        public string $invoiceCurrency, public ?string $invoiceAmount, public string $currency, public ?string $amount,
        public ?string $amountExchange, public string $networkProcessingFee, public string $address, public string $type,
        public string $typeLoc, public ?string $payment, public ?string $refund, public ?string $refundAmountOpened,
        public ?string $refundStatus, public ?string $refundStatusLoc, public ?string $invoiceDate, public string $inserted,
        public ?string $confirmed, public ?string $cancelled, public ?string $doubleSpendingAlert, public bool $acceptZeroConfirmations,
        public ?string $itemName, public ?string $accessToken, public ?string $sid, public ?string $paymentId) {}
    public static function from(array $i): self
    {
        return new self($i['state'], $i['status'], $i['status_loc'], $i['pos_id'], $i['invoice_currency'], $i['invoice_amount'],
            $i['currency'], $i['amount'], $i['amount_exchange'], $i['network_processing_fee'], $i['address'], $i['type'], $i['type_loc'],
            $i['payment'], $i['refund'], $i['refund_amount_opened'] !== null ? (string) $i['refund_amount_opened'] : null,
            $i['refund_status'], $i['refund_status_loc'], $i['invoice_date'], $i['inserted'], $i['confirmed'], $i['cancelled'],
            $i['double_spending_alert'], $i['accept_zero_confirmations'], $i['item_name'], $i['access_token'], $i['sid'], $i['payment_id']);
    }
}

final class FpWalletApp
{
    public function __construct(public string $id, public string $name, public ?string $image, public ?string $imageDarkmode) {}
    public static function from(array $a): self { return new self($a['id'], $a['name'], $a['image'] ?? null, $a['image_darkmode'] ?? null); }
}
