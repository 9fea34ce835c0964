package app

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"skiff/db"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter is a token bucket per key (an IP address, an email address),
// from golang.org/x/time/rate. Its memory is bounded: it forgets keys whose
// bucket has refilled (they are the same as new keys), and when still full it
// forgets arbitrary keys rather than grow.
//
// On Postgres, where several instances share the database, a limiter made
// shared keeps its buckets there instead (db.TakeToken), so the limit holds
// across instances: every limiter but the API's (see the README, Several
// instances).
type rateLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	per     time.Duration // one token per
	burst   int
	maxKeys int
	buckets map[string]*rate.Limiter
	now     func() time.Time

	shared *db.DB // Postgres: the buckets are rows of rate_limits
	name   string // the limiter's name, before each key in rate_limits
	log    *slog.Logger
}

func newRateLimiter(r Rate, maxKeys int) *rateLimiter {
	per := r.Per / time.Duration(max(1, r.N))
	return &rateLimiter{
		every:   rate.Every(per),
		per:     per,
		burst:   max(1, r.N),
		maxKeys: maxKeys,
		buckets: make(map[string]*rate.Limiter),
		now:     time.Now,
	}
}

// sharedIn makes l keep its buckets in d when d is Postgres, under name.
func (l *rateLimiter) sharedIn(d *db.DB, name string, log *slog.Logger) *rateLimiter {
	if d.Postgres() {
		l.shared, l.name, l.log = d, name, log
	}
	return l
}

// allow takes one token for key. When none is left it returns false and how
// long until one is. Take the token before the work it guards (an argon2id
// verification, a TOTP check), never check first and take after a failure:
// many concurrent attempts would all pass the check before any paid. A
// success then gives the token back with reset (the secret was shown, so the
// key's failures are forgotten).
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	if l.per <= 0 {
		return true, 0 // no limit (tests)
	}
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ok, wait, err := l.shared.TakeToken(ctx, l.name+":"+key, l.per, l.burst)
		if err != nil {
			// A limit that cannot be checked refuses: it guards password
			// checks and mail, and the database is needed for those anyway.
			l.log.Error("rate limit: take a token", "limit", l.name, "err", err)
			return false, time.Second
		}
		return ok, wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	b := l.bucket(key, t)
	res := b.ReserveN(t, 1)
	if d := res.DelayFrom(t); d > 0 {
		res.CancelAt(t)
		return false, d
	}
	return true, 0
}

// reset forgets key, as after a successful login.
func (l *rateLimiter) reset(key string) {
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.shared.ForgetTokens(ctx, l.name+":"+key); err != nil {
			l.log.Error("rate limit: forget a key", "limit", l.name, "err", err)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

func (l *rateLimiter) bucket(key string, t time.Time) *rate.Limiter {
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if len(l.buckets) >= l.maxKeys {
		for k, b := range l.buckets {
			if b.TokensAt(t) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
		// Still full: forget arbitrary keys down to nine tenths, so that the
		// next scan is a tenth of maxKeys new keys away. Making room for one
		// key at a time would cost every new address of a flood a full scan.
		for k := range l.buckets {
			if len(l.buckets) < l.maxKeys*9/10 {
				break
			}
			delete(l.buckets, k)
		}
	}
	b := rate.NewLimiter(l.every, l.burst)
	l.buckets[key] = b
	return b
}

// retryAfterSeconds rounds d up to whole seconds for the Retry-After header.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// clientIP returns the address requests are limited by. Behind a reverse proxy
// (TRUST_PROXY_HEADERS=true), and only when the request comes from one of
// TRUSTED_PROXIES, it is read from X-Forwarded-For, right to left, skipping
// the trusted proxies' own entries: the first other one is what the nearest
// proxy saw. Entries further left are client-supplied and never used, and a
// request straight from anywhere else (a local process reaching the port
// directly) keeps its own address whatever it sends. IPv6 clients are grouped
// by /64, the block one customer usually gets.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if s.cfg.TrustProxyHeaders && s.trustedProxy(host) {
		host = s.forwardedFor(r, host)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// trustedProxy reports whether addr is one of TRUSTED_PROXIES.
func (s *Server) trustedProxy(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For from the right, past the trusted
// proxies, and returns the first other entry; peer when there is none.
func (s *Server) forwardedFor(r *http.Request, peer string) string {
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		entries = append(entries, strings.Split(v, ",")...)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := strings.TrimSpace(entries[i])
		if e == "" {
			continue
		}
		if !s.trustedProxy(e) {
			return e
		}
		peer = e
	}
	return peer
}
