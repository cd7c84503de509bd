<?php
// The few WordPress and WooCommerce calls the shop plugins' code makes, as
// they behave, for the plugin-style clients (payscrypt_plugin.php,
// litepay_plugin.php): WordPress's HTTP API over curl (redirects followed,
// up to 5, as WP Requests does; an array body form-encoded with
// http_build_query), and WooCommerce orders kept in the JSON file $ORDERS
// (locked, for php -S's workers), each with its status history and meta.

// wp_remote_request is WordPress's: an array with the response's code and
// body, or a WP_Error.
function wp_remote_request($url, $args = array())
{
    $ch = curl_init($url);
    $headers = array();
    foreach ($args['headers'] ?? array() as $k => $v) {
        $headers[] = "$k: $v";
    }
    $method = $args['method'] ?? 'GET';
    curl_setopt_array($ch, array(
        CURLOPT_CUSTOMREQUEST => $method,
        CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_FOLLOWLOCATION => true,
        CURLOPT_MAXREDIRS => 5,
        CURLOPT_TIMEOUT => $args['timeout'] ?? 5,
    ));
    if (($args['httpversion'] ?? '1.0') === '1.0') {
        curl_setopt($ch, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
    }
    if (isset($args['body'])) {
        $body = $args['body'];
        curl_setopt($ch, CURLOPT_POSTFIELDS, is_array($body) ? http_build_query($body) : $body);
    }
    $body = curl_exec($ch);
    if ($body === false) {
        return new WP_Error(curl_error($ch));
    }
    return array('response' => array('code' => curl_getinfo($ch, CURLINFO_RESPONSE_CODE)), 'body' => $body);
}

function wp_remote_post($url, $args = array())
{
    $args['method'] = 'POST';
    return wp_remote_request($url, $args);
}

function wp_remote_retrieve_body($response)
{
    return is_array($response) ? $response['body'] : '';
}

class WP_Error
{
    private $message;
    public function __construct($message) { $this->message = $message; }
    public function get_error_message() { return $this->message; }
}

function is_wp_error($thing) { return $thing instanceof WP_Error; }
function esc_url_raw($url) { return $url; }
function sanitize_text_field($s) { return trim(strip_tags((string) $s)); }

// wc_orders changes the orders under a lock: $change gets them by
// reference, and returns what wc_orders returns. The file is replaced
// whole, so that a reader never sees it half written.
function wc_orders($change)
{
    $path = getenv('ORDERS');
    $lock = fopen($path . '.lock', 'c');
    flock($lock, LOCK_EX);
    $orders = json_decode(@file_get_contents($path), true) ?: array();
    $out = $change($orders);
    foreach ($orders as &$o) {
        $o['meta'] = (object) $o['meta']; // {} when empty, not []
    }
    unset($o);
    file_put_contents($path . '.new', json_encode($orders));
    rename($path . '.new', $path);
    flock($lock, LOCK_UN);
    fclose($lock);
    return $out;
}

// WC_Order is the little of WooCommerce's order the plugins use.
class WC_Order
{
    public $id;
    public function __construct($id) { $this->id = (string) $id; }
    public function get_id() { return (int) $this->id; }
    private function field($k) { $id = $this->id; return wc_orders(function ($o) use ($id, $k) { return $o[$id][$k]; }); }
    public function get_total() { return $this->field('total'); }
    public function get_currency() { return $this->field('currency'); }
    public function get_billing_email() { return $this->field('email'); }
    public function get_status() { return $this->field('status'); }
    public function update_status($status, $note = '')
    {
        $id = $this->id;
        wc_orders(function (&$o) use ($id, $status, $note) {
            $o[$id]['status'] = $status;
            $o[$id]['history'][] = $status;
            $o[$id]['notes'][] = $note;
        });
    }
    public function payment_complete() { $this->update_status('processing', 'Payment complete.'); }
    public function update_meta_data($k, $v)
    {
        $id = $this->id;
        wc_orders(function (&$o) use ($id, $k, $v) { $o[$id]['meta'][$k] = $v; });
    }
    public function save() {}
}

// wc_get_order is an order, or false.
function wc_get_order($id)
{
    $id = (string) $id;
    return wc_orders(function ($o) use ($id) { return isset($o[$id]) ? new WC_Order($id) : false; });
}

// wc_create_order records a new order: pending, as WooCommerce makes one.
function wc_create_order($id, $total, $currency, $email = 'buyer+x@example.com')
{
    wc_orders(function (&$o) use ($id, $total, $currency, $email) {
        $o[(string) $id] = array('total' => $total, 'currency' => $currency, 'email' => $email, 'status' => 'pending',
            'history' => array('pending'), 'notes' => array(), 'meta' => array());
    });
    return new WC_Order($id);
}

function wc_reduce_stock_levels($id) {}
