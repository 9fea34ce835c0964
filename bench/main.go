// Command bench is Skiff's load test, run by `make bench`.
//
// It builds the real binary, starts it on a temporary database, seeds users,
// and drives concurrent HTTP clients over loopback for a fixed time against
// the main routes. In the same run it measures a bare net/http handler (in a
// process of its own) with the same client, in rounds alternating with each
// route, so each route's throughput is reported as a ratio of what this
// machine could do at all at that moment. It also measures
// start-up time, idle and peak memory, the binary's size, and whether a
// read-only request writes to the database. Then (scale.go) it times the list
// pages on an empty database and on one of 200,000 users and 1,000,000
// projects. Results go to stdout and to a JSON file; the exit status is 1
// when a target is missed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"skiff/db"
)

const (
	password      = "bench password for everyone"
	webhookSecret = "whsec_bench"
)

func main() {
	bare := flag.String("bare-server", "", "internal: serve the bare handler on this address")
	duration := flag.Duration("duration", 5*time.Second, "how long each route is driven (as long again for the bare handler beside it)")
	clients := flag.Int("c", 64, "concurrent clients")
	users := flag.Int("users", 64, "users to seed")
	out := flag.String("out", "bench-results.json", "where to write the JSON results")
	profile := flag.String("profile", "bench-dashboard.pprof", "where to write a CPU profile of the server under the dashboard load; empty for none")
	scale := flag.Bool("scale", true, "also time the list pages on an empty database and on one of 200,000 users and 1,000,000 projects")
	flag.StringVar(&postgres, "postgres", "", "run on PostgreSQL: the URL of a server, where a database of the run's own is made (make bench passes tools/withpostgres's); the SQLite targets are then reported, not required")
	flag.Parse()
	if postgres != "" {
		*scale = false // the list pages at scale are timed on SQLite
	}
	if *bare != "" {
		serveBare(*bare)
		return
	}
	res, err := run(*duration, *clients, *users, *profile, *scale)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	res.print(os.Stdout)
	fmt.Printf("\nresults written to %s\n", *out)
	if !res.AllMet && postgres == "" {
		os.Exit(1)
	}
}

// postgres is the -postgres flag: the server the run's database is made on.
var postgres string

// newDatabase returns where the run's database is: a file in dir, or a new
// database on the -postgres server.
func newDatabase(dir, name string) (string, func(), error) {
	if postgres == "" {
		return filepath.Join(dir, name+".db"), func() {}, nil
	}
	admin, err := sql.Open("pgx", postgres)
	if err != nil {
		return "", nil, err
	}
	dbName := fmt.Sprintf("skiff_bench_%d", os.Getpid())
	if _, err := admin.Exec(`CREATE DATABASE ` + dbName); err != nil {
		admin.Close()
		return "", nil, err
	}
	u, err := url.Parse(postgres)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + dbName
	return u.String(), func() {
		admin.Exec(`DROP DATABASE ` + dbName + ` WITH (FORCE)`)
		admin.Close()
	}, nil
}

// serveBare is the baseline: the smallest useful net/http handler.
func serveBare(addr string) {
	http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	}))
}

// Results is what one run measured.
type Results struct {
	Machine         string        `json:"machine"`
	Engine          string        `json:"engine"` // sqlite or postgres
	Clients         int           `json:"clients"`
	DurationSeconds float64       `json:"duration_seconds"`
	BinaryBytes     int64         `json:"binary_bytes"`
	StartupMillis   float64       `json:"startup_ms"`
	IdleRSSBytes    int64         `json:"idle_rss_bytes"`
	LoginPeakRSS    int64         `json:"peak_rss_after_200_concurrent_logins_bytes"`
	LoginBurstErrs  int64         `json:"errors_in_200_concurrent_logins"`
	ReadOnlyWrites  int64         `json:"db_commits_during_read_only_runs"`
	Routes          []RouteResult `json:"routes"`
	Scale           *ScaleResults `json:"scale,omitempty"`
	Profile         string        `json:"dashboard_cpu_profile,omitempty"`
	Targets         []Target      `json:"targets"`
	AllMet          bool          `json:"all_targets_met"`
}

// RouteResult is one route's load run.
type RouteResult struct {
	Name       string  `json:"name"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	RPS        float64 `json:"rps"`
	P50Millis  float64 `json:"p50_ms"`
	P99Millis  float64 `json:"p99_ms"`
	VsBare     float64 `json:"ratio_to_bare"`
	FirstError string  `json:"first_error,omitempty"`
}

// Target is one goal of issue "Performance" and whether it was met.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// run is the whole load test: build, the routes against the bare handler, the
// login burst, the profile, then (with scale) the list pages at scale.
func run(duration time.Duration, clients, users int, profile string, scale bool) (*Results, error) {
	tmp, err := os.MkdirTemp("", "skiff-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := &Results{Clients: clients, DurationSeconds: duration.Seconds(), Machine: machine(), Engine: "sqlite"}
	if postgres != "" {
		res.Engine = "postgres"
	}

	fmt.Println("building the binary...")
	bin := filepath.Join(tmp, "skiff")
	if res.BinaryBytes, err = buildBinary(bin); err != nil {
		return nil, err
	}
	if err := runRoutes(res, bin, tmp, duration, clients, users, profile); err != nil {
		return nil, err
	}
	if scale {
		if res.Scale, err = runScale(bin, tmp, duration); err != nil {
			return nil, err
		}
	}
	res.judge()
	return res, nil
}

// buildBinary builds the static binary as `make build` does and returns its size.
func buildBinary(bin string) (int64, error) {
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build: %v\n%s", err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// runRoutes seeds users, restarts the server on their database, drives each
// route, then the login burst and, unless profile is empty, the profile.
func runRoutes(res *Results, bin, dir string, duration time.Duration, clients, users int, profile string) error {
	srv, cookies, drop, err := startSeeded(res, bin, dir, users)
	if err != nil {
		return err
	}
	defer drop()
	defer srv.stop()
	client := newClient(clients)
	if err := driveRoutes(res, client, srv, cookies, duration, clients, users); err != nil {
		return err
	}
	fmt.Println("200 concurrent logins...")
	res.LoginBurstErrs, res.LoginPeakRSS = loginBurst(srv, users)

	// Last, and not counted: the dashboard again, under Go's CPU profiler
	// (served by the binary on PPROF_ADDR), for `go tool pprof`.
	if profile == "" {
		return nil
	}
	fmt.Printf("profiling the server under GET /dashboard for %v...\n", duration)
	if err := profileRun(srv, profile, duration, func() {
		drive(client, clients, duration, dashboardRequests(srv, cookies))
	}); err != nil {
		return err
	}
	res.Profile = profile
	return nil
}

// startSeeded seeds users on a fresh database, then starts the server again
// on it, recording the time to ready and the idle memory of that second start.
func startSeeded(res *Results, bin, dir string, users int) (*server, []*http.Cookie, func(), error) {
	dbPath, drop, err := newDatabase(dir, "skiff")
	if err != nil {
		return nil, nil, nil, err
	}
	srv, err := startServer(bin, dir, dbPath)
	if err != nil {
		drop()
		return nil, nil, nil, err
	}
	fmt.Printf("seeding %d users...\n", users)
	cookies, err := seed(srv, dbPath, users)
	srv.stop()
	if err != nil {
		drop()
		return nil, nil, nil, err
	}
	start := time.Now()
	if srv, err = startServer(bin, dir, dbPath); err != nil {
		drop()
		return nil, nil, nil, err
	}
	res.StartupMillis = float64(time.Since(start).Microseconds()) / 1000
	time.Sleep(time.Second)
	res.IdleRSSBytes, _ = procStatus(srv.cmd.Process.Pid, "VmRSS")
	return srv, cookies, drop, nil
}

// routeRun is one route of the load test.
type routeRun struct {
	name     string
	readOnly bool                                  // checked: must commit nothing
	req      func(worker int) (*http.Request, int) // the next request and the status it must get
}

// routeRuns are the routes driven, in order.
func routeRuns(srv *server, cookies []*http.Cookie, users int) []routeRun {
	var seq atomic.Int64
	return []routeRun{
		{"GET /login (anonymous)", true, func(int) (*http.Request, int) {
			r, _ := http.NewRequest("GET", srv.base+"/login", nil)
			return r, 200
		}},
		{"GET /dashboard (logged in)", true, dashboardRequests(srv, cookies)},
		{"POST /login", false, func(int) (*http.Request, int) {
			n := seq.Add(1)
			r := form(srv.base+"/login", url.Values{"email": {userEmail(int(n) % users)}, "password": {password}})
			r.Header.Set("X-Forwarded-For", fakeIP(n))
			return r, 303
		}},
		{"POST /projects", false, func(w int) (*http.Request, int) {
			r := form(srv.base+"/projects", url.Values{"name": {"Bench " + strconv.FormatInt(seq.Add(1), 10)}})
			r.AddCookie(cookies[w%len(cookies)])
			return r, 303
		}},
		{"POST /webhooks/stripe (signed)", false, func(int) (*http.Request, int) {
			return signedWebhook(srv.base, seq.Add(1), users), 200
		}},
	}
}

// dashboardRequests are GET /dashboard, each worker as a user of its own.
func dashboardRequests(srv *server, cookies []*http.Cookie) func(int) (*http.Request, int) {
	return func(w int) (*http.Request, int) {
		r, _ := http.NewRequest("GET", srv.base+"/dashboard", nil)
		r.AddCookie(cookies[w%len(cookies)])
		return r, 200
	}
}

// driveRoutes drives each route in rounds that alternate with the bare
// handler, and compares it with the bare rounds next to it: a shared
// machine's load drifts during a run, and this way it weighs on both sides
// alike. It also counts the commits made during read-only routes.
func driveRoutes(res *Results, client *http.Client, srv *server, cookies []*http.Cookie, duration time.Duration, clients, users int) error {
	bareAddr := freeAddr()
	self, _ := os.Executable()
	bareCmd := exec.Command(self, "-bare-server", bareAddr)
	if err := bareCmd.Start(); err != nil {
		return err
	}
	defer bareCmd.Process.Kill()
	waitUp("http://" + bareAddr + "/")
	bare := func(int) (*http.Request, int) {
		r, _ := http.NewRequest("GET", "http://"+bareAddr+"/", nil)
		return r, 200
	}
	// Commits during the read-only runs, from SQLite's data_version. On
	// Postgres River's own writes (leader election, the producers' heartbeat)
	// would count too: not checked there.
	dataVersion, closeDB := func() int64 { return 0 }, func() {}
	if postgres == "" {
		var err error
		if dataVersion, closeDB, err = dataVersionReader(srv.dbPath); err != nil {
			return err
		}
	}
	defer closeDB()

	slice := duration / rounds
	var allBare sample
	for _, rn := range routeRuns(srv, cookies, users) {
		fmt.Printf("driving %-32s for %v with %d clients, alternating with the bare handler...\n", rn.name, duration, clients)
		var route, near sample
		for range rounds {
			near.add(drive(client, clients, slice, bare))
			before := dataVersion()
			route.add(drive(client, clients, slice, rn.req))
			if rn.readOnly {
				res.ReadOnlyWrites += dataVersion() - before
			}
		}
		rr := route.result(rn.name)
		rr.VsBare = rr.RPS / near.result("").RPS
		res.Routes = append(res.Routes, rr)
		allBare.add(near)
	}
	br := allBare.result("bare net/http handler")
	br.VsBare = 1
	res.Routes = slices.Insert(res.Routes, 0, br)
	return nil
}

// loginBurst sends 200 logins at once: argon2id's memory must stay bounded.
// It returns the failed logins and the server's peak memory meanwhile.
func loginBurst(srv *server, users int) (errs, peakRSS int64) {
	// Writing 5 to clear_refs resets the peak (VmHWM) so it measures this burst.
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", srv.cmd.Process.Pid), []byte("5"), 0)
	burst := newClient(200)
	var wg sync.WaitGroup
	var burstErrs atomic.Int64
	for i := range 200 {
		wg.Go(func() {
			r := form(srv.base+"/login", url.Values{"email": {userEmail(i % users)}, "password": {password}})
			r.Header.Set("X-Forwarded-For", fakeIP(int64(1_000_000+i)))
			resp, err := burst.Do(r)
			if err != nil || resp.StatusCode != 303 {
				burstErrs.Add(1)
			}
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	peakRSS, _ = procStatus(srv.cmd.Process.Pid, "VmHWM")
	return burstErrs.Load(), peakRSS
}

func (res *Results) judge() {
	route := func(name string) RouteResult {
		for _, r := range res.Routes {
			if strings.HasPrefix(r.Name, name) {
				return r
			}
		}
		return RouteResult{}
	}
	dash := route("GET /dashboard")
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
	res.Targets = []Target{
		{"dashboard throughput vs bare handler", ">= 40%", fmt.Sprintf("%.0f%%", dash.VsBare*100), dash.VsBare >= 0.40},
		{"dashboard p99 latency", "< 20 ms", fmt.Sprintf("%.1f ms", dash.P99Millis), dash.P99Millis < 20},
		{"dashboard errors", "0", strconv.FormatInt(dash.Errors, 10), dash.Errors == 0 && dash.Requests > 0},
		readOnlyTarget(res),
		{"errors in 200 concurrent logins", "0", strconv.FormatInt(res.LoginBurstErrs, 10), res.LoginBurstErrs == 0},
		{"peak RSS after 200 concurrent logins", "< 150 MB", mb(res.LoginPeakRSS), res.LoginPeakRSS > 0 && res.LoginPeakRSS < 150<<20},
		{"idle RSS", "< 40 MB", mb(res.IdleRSSBytes), res.IdleRSSBytes > 0 && res.IdleRSSBytes < 40<<20},
		{"start-up to ready (existing database)", "< 300 ms", fmt.Sprintf("%.0f ms", res.StartupMillis), res.StartupMillis < 300},
		{"binary size", "< 40 MB", mb(res.BinaryBytes), res.BinaryBytes < 40<<20},
	}
	for _, r := range res.Routes {
		if r.Errors > 0 {
			res.Targets = append(res.Targets, Target{"errors on " + r.Name, "0", strconv.FormatInt(r.Errors, 10) + " (" + r.FirstError + ")", false})
		}
	}
	if res.Scale != nil {
		res.Targets = append(res.Targets, res.Scale.targets()...)
	}
	res.AllMet = true
	for _, t := range res.Targets {
		res.AllMet = res.AllMet && t.Met
	}
}

// readOnlyTarget: no commit during the read-only runs, from SQLite's
// data_version (not read on Postgres: see driveRoutes).
func readOnlyTarget(res *Results) Target {
	if res.Engine == "postgres" {
		return Target{"database commits during read-only runs", "0", "not read on PostgreSQL", true}
	}
	return Target{"database commits during read-only runs", "0", strconv.FormatInt(res.ReadOnlyWrites, 10), res.ReadOnlyWrites == 0}
}

func (res *Results) print(w io.Writer) {
	fmt.Fprintf(w, "\nSkiff load test on %s: %s, %d clients, %.0fs per route\n\n", res.Engine, res.Machine, res.Clients, res.DurationSeconds)
	fmt.Fprintf(w, "%-34s %10s %8s %10s %9s %9s %8s\n", "route", "requests", "errors", "req/s", "p50 ms", "p99 ms", "vs bare")
	for _, r := range res.Routes {
		fmt.Fprintf(w, "%-34s %10d %8d %10.0f %9.2f %9.2f %7.0f%%\n", r.Name, r.Requests, r.Errors, r.RPS, r.P50Millis, r.P99Millis, r.VsBare*100)
	}
	if res.Scale != nil {
		res.Scale.print(w)
	}
	fmt.Fprintln(w)
	for _, t := range res.Targets {
		mark := "ok  "
		if !t.Met {
			mark = "MISS"
		}
		fmt.Fprintf(w, "%s %-42s want %-9s got %s\n", mark, t.Name, t.Want, t.Got)
	}
	if res.Profile != "" {
		fmt.Fprintf(w, "\nwhere the dashboard's time goes: go tool pprof -top %s\n", res.Profile)
	}
	switch {
	case res.Engine == "postgres":
		fmt.Fprintln(w, "\n(the targets are the SQLite path's; on PostgreSQL they are reported, not required)")
	case res.AllMet:
		fmt.Fprintln(w, "\nall targets met")
	default:
		fmt.Fprintln(w, "\nsome targets missed")
	}
}

// rounds is how many slices of each route's time alternate with the bare handler.
const rounds = 5

// sample is what one or more drives recorded.
type sample struct {
	lat      []time.Duration
	errs     int64
	firstErr string
	elapsed  time.Duration
}

func (s *sample) add(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.errs += o.errs
	s.elapsed += o.elapsed
	if s.firstErr == "" {
		s.firstErr = o.firstErr
	}
}

func (s sample) result(name string) RouteResult {
	all := slices.Clone(s.lat)
	slices.Sort(all)
	rr := RouteResult{Name: name, Requests: int64(len(all)), Errors: s.errs, FirstError: s.firstErr}
	if s.elapsed > 0 {
		rr.RPS = float64(len(all)) / s.elapsed.Seconds()
	}
	if len(all) > 0 {
		ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
		rr.P50Millis, rr.P99Millis = ms(0.50), ms(0.99)
	}
	return rr
}

// drive runs clients workers for d, each sending requests back to back.
func drive(client *http.Client, clients int, d time.Duration, next func(worker int) (*http.Request, int)) sample {
	var wg sync.WaitGroup
	lat := make([][]time.Duration, clients)
	var errs atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, want := next(w)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != want {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	s := sample{lat: slices.Concat(lat...), errs: errs.Load(), elapsed: time.Since(start)}
	if v := firstErr.Load(); v != nil {
		s.firstErr = v.(string)
	}
	return s
}

func newClient(conns int) *http.Client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func form(u string, v url.Values) *http.Request {
	r, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func userEmail(i int) string { return fmt.Sprintf("bench%d@example.com", i) }

// fakeIP spreads requests over many client addresses (the server trusts
// X-Forwarded-For in this run), so per-IP rate limits do not cap the test.
func fakeIP(n int64) string {
	return fmt.Sprintf("10.%d.%d.%d", (n>>16)&255, (n>>8)&255, n&255)
}

// signedWebhook is a customer.subscription.updated event for a seeded user,
// signed as Stripe would.
func signedWebhook(base string, n int64, users int) *http.Request {
	i := int(n) % users
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("evt_bench_%d", n), "object": "event", "api_version": stripe.APIVersion, "created": now,
		"type": "customer.subscription.updated",
		"data": map[string]any{"object": map[string]any{
			"id": fmt.Sprintf("sub_bench_%d", i), "object": "subscription", "customer": fmt.Sprintf("cus_bench_%d", i),
			"status": "active", "created": now - 3600, "current_period_end": now + 30*86400, "cancel_at_period_end": false,
			"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "object": "subscription_item",
				"price": map[string]any{"id": "price_pro", "object": "price"}}}},
		}},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret})
	r, _ := http.NewRequest("POST", base+"/webhooks/stripe", bytes.NewReader(payload))
	r.Header.Set("Stripe-Signature", signed.Header)
	return r
}

// profileRun fetches a CPU profile of the server covering load, into path.
func profileRun(s *server, path string, d time.Duration, load func()) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.pprof, max(1, int(d.Seconds()))))
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			errc <- fmt.Errorf("profile: status %d", resp.StatusCode)
			return
		}
		_, err = io.Copy(f, resp.Body)
		errc <- err
	}()
	load()
	return <-errc
}

// server is a running skiff process.
type server struct {
	cmd    *exec.Cmd
	base   string
	pprof  string // the profiler's base URL
	dbPath string
	logs   *os.File
}

// startServer starts the binary on the database at dbPath, logging beside
// it (dbPath with .log), with the settings of every run plus env.
func startServer(bin, dir, dbPath string, env ...string) (*server, error) {
	addr, pprofAddr := freeAddr(), freeAddr()
	logName := strings.TrimSuffix(dbPath, ".db") + ".log"
	if db.IsPostgres(dbPath) {
		logName = filepath.Join(dir, "postgres.log")
	}
	logs, err := os.Create(logName)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	database := "DATABASE_PATH=" + dbPath
	if db.IsPostgres(dbPath) {
		database = "DATABASE_URL=" + dbPath
	}
	cmd.Env = append(os.Environ(), "ADDR="+addr, "BASE_URL=http://"+addr, database, "APP_ENV=development",
		"TRUST_PROXY_HEADERS=true", "LOG_LEVEL=info", "PPROF_ADDR="+pprofAddr,
		"STRIPE_SECRET_KEY=sk_test_bench", "STRIPE_WEBHOOK_SECRET="+webhookSecret,
		"STRIPE_PRICE_PRO=price_pro", "STRIPE_PRICE_ENTERPRISE=price_enterprise", "STRIPE_API_BASE=http://127.0.0.1:9")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr, pprof: "http://" + pprofAddr, dbPath: dbPath, logs: logs}
	if err := waitUp(s.base + "/healthz"); err != nil {
		s.stop()
		b, _ := os.ReadFile(logs.Name())
		return nil, fmt.Errorf("server did not start: %v\n%s", err, b)
	}
	return s, nil
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s.logs.Close()
}

func waitUp(u string) error {
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if resp, err := c.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
	}
	return errors.New("timed out waiting for " + u)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// seed signs users up through the app, makes them Pro (so project creation
// has no limit) and links Stripe customers for the webhook run. It returns
// one session cookie per user.
func seed(s *server, dbPath string, users int) ([]*http.Cookie, error) {
	cookies, err := signUpAll(s, users)
	if err != nil {
		return nil, err
	}
	return cookies, makePro(dbPath, users)
}

// signUpAll signs users up, 8 at a time, and returns their session cookies.
func signUpAll(s *server, users int) ([]*http.Cookie, error) {
	c := newClient(8)
	cookies := make([]*http.Cookie, users)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 8)
	for i := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ck, err := signUp(c, s, userEmail(i), fakeIP(int64(2_000_000+i)))
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			cookies[i] = ck
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	return cookies, nil
}

// signUp creates an account through the signup form and returns its session
// cookie, after one visit of the dashboard so that later ones are read only.
func signUp(c *http.Client, s *server, email, ip string) (*http.Cookie, error) {
	r := form(s.base+"/signup", url.Values{"email": {email}, "password": {password}})
	r.Header.Set("X-Forwarded-For", ip)
	resp, err := c.Do(r)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "session" {
			cookie = ck
		}
	}
	if resp.StatusCode != 303 || cookie == nil {
		return nil, fmt.Errorf("signup %s: status %d", email, resp.StatusCode)
	}
	// Show the welcome message once, so the dashboard runs read only.
	r, _ = http.NewRequest("GET", s.base+"/dashboard", nil)
	r.AddCookie(cookie)
	if resp, err = c.Do(r); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return cookie, nil
}

// makePro gives each seeded user's personal team a Stripe customer and an
// active Pro subscription, written directly to the database.
func makePro(dbPath string, users int) error {
	ctx := context.Background()
	d, err := db.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer d.Close()
	for i := range users {
		u, err := d.UserByEmail(ctx, userEmail(i))
		if err != nil {
			return err
		}
		team, err := d.PersonalScope(ctx, u.ID)
		if err != nil {
			return err
		}
		cus := fmt.Sprintf("cus_bench_%d", i)
		if _, err := d.SaveCustomer(ctx, team.TeamID(), cus); err != nil {
			return err
		}
		_, err = d.ApplySubscription(ctx, db.Subscription{ID: fmt.Sprintf("sub_bench_%d", i), TeamID: team.TeamID(), CustomerID: cus,
			PriceID: "price_pro", Plan: "pro", Status: "active", CurrentPeriodEnd: db.UnixTime(time.Now().Add(720 * time.Hour).Unix()), Version: 1})
		if err != nil {
			return err
		}
	}
	return nil
}

// dataVersionReader returns a function reading SQLite's data_version from a
// connection of our own: it changes whenever another connection commits.
func dataVersionReader(dbPath string) (func() int64, func(), error) {
	conn, err := sql.Open("sqlite", db.DSN(dbPath))
	if err != nil {
		return nil, nil, err
	}
	conn.SetMaxOpenConns(1)
	read := func() int64 {
		var v int64
		conn.QueryRow("PRAGMA data_version").Scan(&v)
		return v
	}
	read()
	return read, func() { conn.Close() }, nil
}

// procStatus reads a memory line (VmRSS, VmHWM) of /proc/PID/status in bytes.
func procStatus(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == key {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, nil
		}
	}
	return 0, errors.New(key + " not found")
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", model, runtime.NumCPU(), runtime.Version())
}
