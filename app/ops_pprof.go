package app

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Go's profiler, for finding where the time goes on a live server:
//
//	PPROF_ADDR=127.0.0.1:6060 skiff serve
//	go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=10
//
// It listens on its own loopback-only address (Config.Validate refuses any
// other), never on the site's: its pages reveal the program's internals. Reach
// it from your machine with `ssh -L 6060:127.0.0.1:6060 your-vps`.

// startProfiler serves the profiler on ln until the returned server is shut down.
func startProfiler(ln net.Listener, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	logger.Info("profiler listening", "addr", ln.Addr().String())
	return srv
}
