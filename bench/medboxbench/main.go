//go:build bench

// Command medbox-bench is the driver of `make bench` (see bench/README.md). It
// joins two network namespaces through the WAN emulator in bench/wanem, runs
// the real MedBox server over TLS in one and headless Chromium with MedBox's own
// upload client in the other, and measures upload goodput against a
// single-stream upload (curl -T to a plain sink) and the link's capacity
// (iperf3), then the same on loopback against the raw speed of sealing.
//
// It is built with -tags bench: it is a tool of the repository, not part of the
// service, and stays out of the service's build and dependency rules.
//
//	medbox-bench run [-quick] [-tune=false] [-links 200M-60ms-0.5%]   the whole bench (root)
//
//	medbox-bench try -link L -origins 8 -conc 48 -chunk 4MiB -set 1GiB -cap 30s   one browser upload, for exploring
//
// The other subcommands are the pieces run runs inside the namespaces:
//
//	medbox-bench browser …   upload files through the box page in headless Chromium (client side)
//	medbox-bench sink …      the "ordinary upload" endpoint: reads a body and throws it away (server side)
//	medbox-bench prepare …   register and approve a sender and a recipient (server side)
//	medbox-bench newbox …    create a box for the next run (server side)
//	medbox-bench dicom …     upload DICOM files and wait for their previews (server side)
//	medbox-bench viewer …    open DICOM files in the viewer at the size of a phone (client side)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: medbox-bench run|try|browser|sink|prepare|newbox|dicom|viewer [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = runBench(ctx, args)
		stop()
	case "try":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = runTry(ctx, args)
		stop()
	case "browser":
		err = runBrowser(args)
	case "sink":
		err = runSink(args)
	case "prepare":
		err = runPrepare(args)
	case "newbox":
		err = runNewBox(args)
	case "dicom":
		err = runDICOM(args)
	case "viewer":
		err = runViewer(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "medbox-bench:", err)
		os.Exit(1)
	}
}

// runPrepare registers the bench's members on a fresh instance and writes the
// sender's account as JSON.
func runPrepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	base := fs.String("base", "https://"+pageHost, "MedBox base URL")
	addr := fs.String("addr", serverAddr+":443", "where the base URL's host name is reached (ip:port)")
	cert := fs.String("cert", "", "the server's certificate")
	data := fs.String("data", "", "the server's data directory (outbox, for confirmation links)")
	medbox := fs.String("medbox", "medbox", "the medbox binary (admin approve)")
	out := fs.String("out", "account.json", "where to write the account")
	fs.Parse(args)
	acct, err := prepare(context.Background(), *base, *addr, *cert, *data, *medbox)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(acct, "", "  ")
	return os.WriteFile(*out, b, 0o600)
}

// runNewBox creates a box from the sender to the recipient and prints its id.
func runNewBox(args []string) error {
	fs := flag.NewFlagSet("newbox", flag.ExitOnError)
	acctFile := fs.String("account", "account.json", "account from prepare")
	cert := fs.String("cert", "", "the server's certificate")
	fs.Parse(args)
	acct, err := readAccount(*acctFile)
	if err != nil {
		return err
	}
	c, err := newClient(acct.Base, acct.Addr, *cert, 2)
	if err != nil {
		return err
	}
	c.token = acct.Token
	id, err := c.newBox(context.Background(), acct)
	if err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}

func readAccount(path string) (*account, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var a account
	return &a, json.Unmarshal(b, &a)
}
