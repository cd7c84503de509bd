<?php
// A shop's Coinremitter client written as Coinremitter's PHP SDK
// (coinremitter-php 0.1.5, API v3) calls the API: the coin upper-cased in
// /api/v3/<COIN>/<action>; every call a POST of
// application/x-www-form-urlencoded (http_build_query) with the wallet's
// api_key and password first, sent with file_get_contents and a stream
// context, its User-agent the SDK's; get_coin_rate at /api/get-coin-rate,
// with no version or coin; the answer json_decode'd, and any failure of
// the request (a status other than 2xx included) {"flag":0,"msg":"error"}.
// Only the base URL is the shop's own (the SDK's is coinremitter.com).
//
// STEP=create: validate_address, create_invoice, get_invoice,
// get_fiat_to_crypto_rate and get_coin_rate, printed as one JSON object.
// STEP=read: get_invoice of INVOICE_ID, printed as the fields a shop reads.
// Environment: FERRY, COIN, API_KEY, PASSWORD, ADDRESS, NOTIFY, SHOP.

class ShopCoinremitter
{
    private $url;
    private $version = 'v3';
    private $coin;
    private $param;

    public function __construct(string $base, array $param)
    {
        $this->url = rtrim($base, '/') . '/api/';
        $this->coin = strtoupper($param['coin']);
        $this->param = array('api_key' => $param['api_key'], 'password' => $param['password']);
    }

    private function action(string $action): string
    {
        return $this->url . $this->version . '/' . $this->coin . '/' . $action;
    }

    public function validate_address(array $param) { return $this->call($this->action('validate-address'), array_merge($this->param, $param)); }
    public function create_invoice(array $param) { return $this->call($this->action('create-invoice'), array_merge($this->param, $param)); }
    public function get_invoice(array $param) { return $this->call($this->action('get-invoice'), array_merge($this->param, $param)); }
    public function get_fiat_to_crypto_rate(array $param) { return $this->call($this->action('get-fiat-to-crypto-rate'), array_merge($this->param, $param)); }
    public function get_coin_rate() { return $this->call($this->url . 'get-coin-rate', $this->param); }

    private function call(string $url, array $post)
    {
        $context = stream_context_create(array('http' => array(
            'method' => 'POST',
            'header' => "Content-type: application/x-www-form-urlencoded\r\n" . 'User-agent:CR@v3,php plugin@0.1.5',
            'content' => http_build_query($post),
            'timeout' => 30,
        )));
        $result = @file_get_contents($url, false, $context);
        if ($result === false) {
            return array('flag' => 0, 'msg' => 'error');
        }
        return json_decode($result, true);
    }
}

$cr = new ShopCoinremitter(getenv('FERRY'), array('coin' => strtolower(getenv('COIN')), 'api_key' => getenv('API_KEY'), 'password' => getenv('PASSWORD')));

// must is an answer's data, or the end of the script with its message, as
// a shop checks the flag.
function must(string $what, $res)
{
    if (!is_array($res) || $res['flag'] != 1) {
        fwrite(STDERR, "$what: " . json_encode($res) . "\n");
        exit(1);
    }
    return $res['data'];
}

if (getenv('STEP') === 'read') {
    $inv = must('get_invoice', $cr->get_invoice(array('invoice_id' => getenv('INVOICE_ID'))));
    echo json_encode(array(
        'invoice_id' => $inv['invoice_id'], 'status' => $inv['status'], 'status_code' => $inv['status_code'],
        'total_amount' => $inv['total_amount'], 'paid_amount' => $inv['paid_amount'], 'payment_history' => $inv['payment_history'],
        'url' => $inv['url'],
    ));
    exit;
}

$valid = must('validate_address', $cr->validate_address(array('address' => getenv('ADDRESS'))));
$created = must('create_invoice', $cr->create_invoice(array(
    'amount' => 15,
    'notify_url' => getenv('NOTIFY'),
    'name' => 'my-invoice',
    'currency' => 'USD',
    'expire_time' => 60,
    'description' => 'My invoice description',
    'custom_data1' => '',
    'custom_data2' => '',
)));
$read = must('get_invoice', $cr->get_invoice(array('invoice_id' => $created['invoice_id'])));
$rate = must('get_fiat_to_crypto_rate', $cr->get_fiat_to_crypto_rate(array('fiat_symbol' => 'USD', 'fiat_amount' => 19.99 + 4.99 + 0.5)));
$coins = must('get_coin_rate', $cr->get_coin_rate());
$wrong = $cr->get_invoice(array('invoice_id' => 'LTC99'));
echo json_encode(array(
    'valid' => $valid['valid'],
    'invoice_id' => $created['invoice_id'], 'address' => $created['address'], 'url' => $created['url'],
    'total_amount' => $created['total_amount'], 'status_code' => $created['status_code'], 'read_status' => $read['status'],
    'crypto_amount' => $rate['crypto_amount'], 'fiat_amount' => $rate['fiat_amount'],
    'ltc_price' => $coins['LTC']['price'],
    'wrong' => $wrong,
));
