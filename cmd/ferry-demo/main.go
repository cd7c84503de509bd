// Command ferry-demo shows ferry's money path on a private Litecoin regtest
// chain: it starts litecoind and a ferry binary, mints an input address,
// pays it from litecoind's wallet, mines, and prints the forward and the
// amounts as the node sees them. Everything it starts it stops.
//
// Usage: ferry-demo -ferry ./bin/ferry
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/chain/regtest"
)

func main() {
	ferryBin := flag.String("ferry", "./bin/ferry", "the ferry binary")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()
	if err := run(*ferryBin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run(ferryBin string, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "ferry-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	step("starting litecoind -regtest and mining past MWEB activation (height %d)", regtest.MWEBHeight)
	nodeDir := filepath.Join(dir, "litecoind")
	os.Mkdir(nodeDir, 0o700)
	l, err := regtest.StartLitecoind(ctx, nodeDir)
	if err != nil {
		return err
	}
	defer func() { step("stopping litecoind (pid %d)", l.Pid()); l.Stop() }()
	feeAddr, _ := l.NewAddress(ctx)
	merchant, _ := l.NewAddress(ctx)

	step("starting ferry")
	port, err := regtest.FreePort()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(ferryBin,
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "ferry"),
		"--network", "regtest", "--ltc-rpc", l.RPCURL, "--ltc-p2p", l.P2PAddr, "--ltc-fee-address", feeAddr, "--log-format", "console")
	logf, err := os.Create(filepath.Join(dir, "ferry.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ferry: %w", err)
	}
	defer func() {
		step("stopping ferry (pid %d)", cmd.Process.Pid)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	if err := waitHTTP(ctx, base+"/healthz"); err != nil {
		return fmt.Errorf("ferry: %w (log in %s)", err, logf.Name())
	}

	step("GET /api/receive?method=litecoin&address=%s&callback_req=0", merchant)
	body, err := get(ctx, base+"/api/receive?"+url.Values{"method": {"litecoin"}, "address": {merchant}, "callback_req": {"0"}}.Encode())
	if err != nil {
		return err
	}
	fmt.Println("   ", strings.TrimSpace(body))
	var reply struct {
		InputAddress string `json:"input_address"`
	}
	if err := json.Unmarshal([]byte(body), &reply); err != nil {
		return err
	}

	const value = 100_000_000
	step("customer pays %s LTC to %s", ferry.Amount(value).String(), reply.InputAddress)
	txid, err := l.Pay(ctx, reply.InputAddress, value)
	if err != nil {
		return err
	}
	step("mining 1 block")
	if _, err := l.Mine(ctx, 1); err != nil {
		return err
	}

	step("waiting for ferry's forward")
	var fwd ferry.Hash
	for fwd.IsZero() {
		if ctx.Err() != nil {
			return errors.New("no forward in time")
		}
		fwd = findSpender(ctx, l, txid)
		time.Sleep(100 * time.Millisecond)
	}
	step("mining 1 block to confirm it")
	if _, err := l.Mine(ctx, 1); err != nil {
		return err
	}

	got, _ := l.Received(ctx, merchant)
	fee, _ := l.Received(ctx, feeAddr)
	fmt.Printf("\n    deposit           %s  %s LTC\n", txid, ferry.Amount(value).String())
	fmt.Printf("    forward           %s\n", fwd)
	fmt.Printf("    merchant got      %s LTC\n", ferry.Amount(got).String())
	fmt.Printf("    service fee (1%%)  %s LTC\n", ferry.Amount(fee).String())
	fmt.Printf("    network fee       %s LTC\n\n", ferry.Amount(value-got-fee).String())
	if got+fee >= value || fee != value/100 {
		return fmt.Errorf("unexpected amounts")
	}
	return nil
}

// findSpender returns the mempool transaction that spends an output of txid.
func findSpender(ctx context.Context, l *regtest.Litecoind, txid ferry.Hash) ferry.Hash {
	pool, err := l.Mempool(ctx)
	if err != nil {
		return ferry.Hash{}
	}
	for _, id := range pool {
		tx, err := l.Tx(ctx, id)
		if err != nil {
			continue
		}
		for _, in := range tx.Vin {
			if in.TxID == txid.String() {
				return id
			}
		}
	}
	return ferry.Hash{}
}

func waitHTTP(ctx context.Context, u string) error {
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer", u)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func get(ctx context.Context, u string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %d %s", u, resp.StatusCode, b)
	}
	return string(b), err
}
