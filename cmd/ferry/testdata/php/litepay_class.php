<?php
// A LitePay client in the style of LitePay's official PHP class
// (litepay_ch.php): PHP's curl extension, the parameters built with
// http_build_query, the JSON answer decoded, and an exception unless its
// status is "success". Only the base URL differs: the tests point it at
// ferry. ('api' calls GET api/<name>; 'merchant' POSTs to p/.)
class litepay
{
    private $type;
    private $base;

    public function __construct($type, $base = 'https://litepay.ch/')
    {
        $this->type = $type;
        $this->base = rtrim($base, '/') . '/';
    }

    public function __call($name, array $args)
    {
        $args = empty($args) ? array() : $args[0];
        if ($this->type == 'merchant') {
            return $this->request('p/', $args, 'POST');
        }
        return $this->request('api/' . $name, $args, 'GET');
    }

    private function request($path, $args, $method)
    {
        $url = $this->base . $path;
        $data = http_build_query($args);
        $ch = curl_init();
        if ($method == 'GET') {
            $url .= '?' . $data;
        } else {
            curl_setopt($ch, CURLOPT_FOLLOWLOCATION, 1);
            curl_setopt($ch, CURLOPT_POST, 1);
            curl_setopt($ch, CURLOPT_POSTFIELDS, $data);
        }
        curl_setopt($ch, CURLOPT_URL, $url);
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($ch, CURLOPT_TIMEOUT, 30);
        $result = curl_exec($ch);
        curl_close($ch);

        $json = json_decode($result);
        if ($json->status != 'success') {
            throw new Exception('Failed: ' . $json->message);
        }
        return $result ? $json : false;
    }
}
