package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// chainDir is package chain's directory, from this one.
const chainDir = "../.."

// TestGeneratedCurrent regenerates every Litecoin twin and compares it with
// the committed file: a change to a Bitcoin source must come with its twin
// (go generate ./chain), and a twin is never edited by hand. A generated
// file no source makes is refused too.
func TestGeneratedCurrent(t *testing.T) {
	want := map[string]bool{}
	for _, src := range sources {
		in, err := os.ReadFile(filepath.Join(chainDir, src))
		if err != nil {
			t.Fatal(err)
		}
		out, err := rewrite(src, in)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		name := twinName(src)
		want[name] = true
		got, err := os.ReadFile(filepath.Join(chainDir, name))
		if err != nil {
			t.Fatalf("%v: run go generate ./chain", err)
		}
		if !bytes.Equal(got, out) {
			t.Errorf("%s is not what %s makes: run go generate ./chain", name, src)
		}
	}
	gens, err := filepath.Glob(filepath.Join(chainDir, "*_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gens {
		if !want[filepath.Base(g)] {
			t.Errorf("%s: no source makes it", filepath.Base(g))
		}
	}
}

// generated is Go's convention for a generated file's header
// (go help generate).
var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

func TestRewrite(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []string // lines the twin has
		not  []string // text the twin lacks
		err  string   // what the error says, if the source is refused
	}{
		{
			name: "imports",
			src:  "import (\n\t\"github.com/btcsuite/btcd/btcutil\"\n\t\"github.com/btcsuite/btcd/btcec/v2\"\n\t\"github.com/btcsuite/btcd/chaincfg/chainhash\"\n\t\"github.com/ferry-relay/ferry\"\n)\n",
			want: []string{
				"\t\"github.com/ltcsuite/ltcd/ltcutil\"",
				"\t\"github.com/ltcsuite/ltcd/btcec/v2\"",
				"\t\"github.com/ltcsuite/ltcd/chaincfg/chainhash\"",
				"\t\"github.com/ferry-relay/ferry\"",
			},
			not: []string{"btcsuite", "btcutil"},
		},
		{
			name: "names",
			src:  "func (c btcCodec) f() { _ = btcutil.Hash160(nil); _ = btcec.S256(); _ = btcP2PVersion; _ = btc2 }\n",
			want: []string{"func (c ltcCodec) f() { _ = ltcutil.Hash160(nil); _ = btcec.S256(); _ = ltcP2PVersion; _ = ltc2 }"},
		},
		{
			name: "comments",
			src:  "// btcTx reads a transaction with btcd's wire package and btcec's keys.\nfunc btcTx() {}\n",
			want: []string{"// ltcTx reads a transaction with ltcd's wire package and btcec's keys.", "func ltcTx() {}"},
		},
		{
			name: "the comment above the package clause goes",
			src:  "",
			not:  []string{"the twin of this file"},
		},
		{name: "a coin in a string", src: "var s = \"not a bitcoin address\"\n", err: `"bitcoin"`},
		{name: "a ticker in a string", src: "var s = \"BTC\"\n", err: `"BTC"`},
		{name: "a coin in a comment", src: "// Bitcoin Core's fee.\nvar s = 1\n", err: `"Bitcoin"`},
		{name: "a name left as it was", src: "var btcfee = 1\n", err: `"btcfee"`},
		{name: "a package comment", src: "", err: "doc.go"},
		{name: "not Go", src: "func {", err: "expected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "// The twin of this file is made by twin.\n\npackage chain\n\n" + c.src
			if c.name == "a package comment" {
				src = "// Package chain is something.\npackage chain\n"
			}
			out, err := rewrite("btc_x.go", []byte(src))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out), "\n")
			if !generated.MatchString(lines[0]) || !strings.Contains(lines[0], "btc_x.go") {
				t.Errorf("header %q", lines[0])
			}
			for _, w := range c.want {
				if !strings.Contains("\n"+string(out)+"\n", "\n"+w+"\n") {
					t.Errorf("no line %q in\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(string(out), n) {
					t.Errorf("%q in\n%s", n, out)
				}
			}
		})
	}
}

func TestTwinName(t *testing.T) {
	for src, want := range map[string]string{"btc_p2p.go": "ltc_p2p_gen.go", "btc_codec.go": "ltc_codec_gen.go"} {
		if got := twinName(src); got != want {
			t.Errorf("twinName(%q) = %q, want %q", src, got, want)
		}
	}
}
