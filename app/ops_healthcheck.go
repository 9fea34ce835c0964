package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// runHealthcheck is `skiff healthcheck`: it asks the server on this machine
// (ADDR) whether it is ready (GET /readyz) and fails unless it answers 200
// within five seconds. It is the Docker image's HEALTHCHECK: the distroless
// image has no shell, curl or wget, only this binary.
func runHealthcheck(ctx context.Context, cfg Config, stdout io.Writer) error {
	url, err := readyzURL(cfg.Addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s", url, res.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}

// readyzURL is where the server listening on addr answers /readyz from this
// machine: an unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") is
// reached on loopback.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: ADDR %q is not host:port", addr)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && ip.Is6() {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
