package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoginRateLimitPerIP(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.Limits.LoginPerIP = Rate{N: 3, Per: time.Minute} })
	c := ts.newClient()
	for i := range 3 {
		wantStatus(t, c.login(fmt.Sprintf("u%d@example.com", i), "wrong password", false), http.StatusUnauthorized)
	}
	res := c.login("u9@example.com", "wrong password", false)
	wantStatus(t, res, http.StatusTooManyRequests)
	wantBody(t, res, "Too many attempts")
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	// Without TRUST_PROXY_HEADERS a forged X-Forwarded-For changes nothing.
	req, _ := http.NewRequest("POST", ts.URL+"/login", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	wantStatus(t, c.do(req), http.StatusTooManyRequests)
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) {
		c.TrustProxyHeaders = true
		c.Limits.LoginFailsPerUser = Rate{N: 3, Per: time.Hour}
	})
	ts.newClient().signup("ada@example.com")
	// An attacker rotating addresses is still stopped by the per-account limit.
	attempt := func(ip, email, password string) response {
		req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "198.51.100.1, "+ip)
		return ts.newClient().do(req)
	}
	for i := range 3 {
		wantStatus(t, attempt(fmt.Sprintf("203.0.113.%d", i), "ada@example.com", "wrong"), http.StatusUnauthorized)
	}
	res := attempt("203.0.113.50", "ada@example.com", testPassword)
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Unknown addresses are limited the same way, so the limit reveals nothing.
	for i := range 3 {
		wantStatus(t, attempt(fmt.Sprintf("203.0.113.%d", 100+i), "ghost@example.com", "wrong"), http.StatusUnauthorized)
	}
	wantStatus(t, attempt("203.0.113.200", "ghost@example.com", "wrong"), http.StatusTooManyRequests)
	// Other accounts are not affected.
	ts.newClient().signup("bob@example.com")
	wantStatus(t, attempt("203.0.113.60", "bob@example.com", testPassword), http.StatusSeeOther)
}

func TestSignupRateLimitPerIP(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.Limits.SignupPerIP = Rate{N: 2, Per: time.Hour} })
	ts.newClient().signup("a@example.com")
	ts.newClient().signup("b@example.com")
	res := ts.newClient().post("/signup", url.Values{"email": {"c@example.com"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	l := newRateLimiter(Rate{N: 5, Per: time.Minute}, 1000)
	for i := range 50_000 {
		l.allow(strconv.Itoa(i))
	}
	if n := len(l.buckets); n > 1000 {
		t.Fatalf("%d keys kept, want at most 1000", n)
	}
}

// BenchmarkRateLimiterFlood is a flood of new client addresses against a
// full limiter: each must cost about the same as a key already known, not a
// scan of every key.
func BenchmarkRateLimiterFlood(b *testing.B) {
	l := newRateLimiter(Rate{N: 5, Per: time.Minute}, 100_000)
	for i := range 100_000 {
		l.allow(strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := range b.N {
		l.allow("new-" + strconv.Itoa(i))
	}
}

func TestRateLimiterRefills(t *testing.T) {
	l := newRateLimiter(Rate{N: 2, Per: time.Minute}, 100)
	now := time.Unix(1_000_000, 0)
	l.now = func() time.Time { return now }
	l.allow("k")
	l.allow("k")
	ok, wait := l.allow("k")
	if ok || wait <= 0 || wait > 30*time.Second {
		t.Fatalf("third call: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.allow("k"); ok {
		t.Fatal("a refused call took a token or left one")
	}
	now = now.Add(31 * time.Second)
	if ok, _ := l.allow("k"); !ok {
		t.Fatal("no token after the refill interval")
	}
}

func TestClientIP(t *testing.T) {
	s := &Server{}
	s.cfg.TrustedProxies, _ = parsePrefixes("127.0.0.1/32,::1/128,10.0.0.0/8")
	req := func(remote string, xff ...string) *http.Request {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return r
	}
	tests := []struct {
		trust bool
		r     *http.Request
		want  string
	}{
		{false, req("192.0.2.1:1234", "203.0.113.7"), "192.0.2.1"},
		{true, req("127.0.0.1:1234", "203.0.113.7"), "203.0.113.7"},
		{true, req("127.0.0.1:1234", "6.6.6.6, 203.0.113.7"), "203.0.113.7"},
		{true, req("127.0.0.1:1234", "6.6.6.6", "203.0.113.8"), "203.0.113.8"},
		{true, req("127.0.0.1:1234"), "127.0.0.1"},
		// Only a trusted proxy's header counts: a process reaching the port
		// straight from elsewhere keeps its own address.
		{true, req("192.0.2.50:1234", "203.0.113.7"), "192.0.2.50"},
		{true, req("[2001:db8::1]:1234", "203.0.113.7"), "2001:db8::/64"},
		{true, req("[::1]:1234", "203.0.113.7"), "203.0.113.7"},
		// Behind two proxies (a load balancer in 10/8, then Caddy on
		// loopback), their own entries are skipped; a forged entry to the
		// left of the client's is not reached.
		{true, req("127.0.0.1:1234", "6.6.6.6, 203.0.113.9, 10.1.2.3"), "203.0.113.9"},
		{true, req("127.0.0.1:1234", "10.1.2.3"), "10.1.2.3"},
		{false, req("[2001:db8:1:2:3:4:5:6]:443"), "2001:db8:1:2::/64"},
		{false, req("[::ffff:192.0.2.1]:443"), "192.0.2.1"},
	}
	for _, tt := range tests {
		s.cfg.TrustProxyHeaders = tt.trust
		if got := s.clientIP(tt.r); got != tt.want {
			t.Errorf("trust=%v remote=%s xff=%v: got %s, want %s", tt.trust, tt.r.RemoteAddr, tt.r.Header.Values("X-Forwarded-For"), got, tt.want)
		}
	}
}
