package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// listenFDsStart is the first file descriptor systemd passes (SD_LISTEN_FDS_START
// in sd_listen_fds(3)): 0 to 2 are stdin, stdout and stderr.
const listenFDsStart = 3

// listen returns the socket the server accepts connections on.
//
// Under systemd with deploy/skiff.socket, systemd holds the port and passes
// the listening socket to each new skiff process (socket activation: LISTEN_PID
// and LISTEN_FDS, see sd_listen_fds(3)). While one process stops and the next
// starts, the socket stays open: connections wait in the kernel's queue
// instead of being refused, so a restart loses no request. Without it (make
// run, Docker), skiff listens on ADDR itself.
func listen(cfg Config) (ln net.Listener, how string, err error) {
	switch {
	case cfg.ListenFDs == 0:
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, "", fmt.Errorf("listen on ADDR %s: %w", cfg.Addr, err)
		}
		return ln, "ADDR", nil
	case cfg.ListenFDs > 1:
		return nil, "", fmt.Errorf("systemd passed %d sockets; skiff serves one (a single ListenStream= in skiff.socket)", cfg.ListenFDs)
	}
	f := os.NewFile(listenFDsStart, "systemd socket")
	defer f.Close() // FileListener works on its own copy
	ln, err = net.FileListener(f)
	if err != nil {
		return nil, "", fmt.Errorf("the socket systemd passed (LISTEN_FDS=1) is not a listening stream socket: %w", err)
	}
	return ln, "systemd socket", nil
}

// drainGrace is how long connections kept alive between requests get to
// carry one more request, answered with "Connection: close", before the
// ones still idle are closed.
const drainGrace = 500 * time.Millisecond

// drainer stops an HTTP server without failing a request that a client has
// already sent. http.Server.Shutdown alone closes every idle keep-alive
// connection at once, and a client (Caddy) may have just written a request
// on one: the request is lost, and a POST cannot be retried safely (Caddy
// answers 502). So the drain first stops accepting, then answers every
// request with "Connection: close" for a moment, so that the connections in
// use end cleanly after their next answer, and only then shuts down.
type drainer struct {
	srv      *http.Server
	draining atomic.Bool
	open     atomic.Int64 // connections accepted and not yet closed
}

// newDrainer wraps srv's handler and connection hook; call it before Serve.
func newDrainer(srv *http.Server) *drainer {
	d := &drainer{srv: srv}
	next := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
	srv.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			d.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			d.open.Add(-1)
		}
	}
	return d
}

// shutdown closes the listener (with skiff.socket, new connections now wait
// for the next process), gives open connections drainGrace to end after
// one more answer, then lets the requests in flight finish within timeout.
func (d *drainer) shutdown(ln net.Listener, timeout time.Duration) error {
	d.draining.Store(true)
	ln.Close()
	for deadline := time.Now().Add(drainGrace); d.open.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.srv.Shutdown(ctx)
}
