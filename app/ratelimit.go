package app

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter is a token bucket per key (an IP address, an email address),
// from golang.org/x/time/rate. Its memory is bounded: it forgets keys whose
// bucket has refilled (they are the same as new keys), and when still full it
// forgets arbitrary keys rather than grow.
type rateLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	maxKeys int
	buckets map[string]*rate.Limiter
	now     func() time.Time
}

func newRateLimiter(r Rate, maxKeys int) *rateLimiter {
	return &rateLimiter{
		every:   rate.Every(r.Per / time.Duration(max(1, r.N))),
		burst:   max(1, r.N),
		maxKeys: maxKeys,
		buckets: make(map[string]*rate.Limiter),
		now:     time.Now,
	}
}

// allow takes one token for key. When none is left it returns false and how
// long until one is. Take the token before the work it guards (an argon2id
// verification, a TOTP check), never check first and take after a failure:
// many concurrent attempts would all pass the check before any paid. A
// success then gives the token back with reset (the secret was shown, so the
// key's failures are forgotten).
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
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
// (TRUST_PROXY_HEADERS=true) it is the right-most X-Forwarded-For entry, the
// one the proxy itself appended; entries to its left are client-supplied and
// cannot be trusted. IPv6 clients are grouped by /64, the block one customer
// usually gets.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if s.cfg.TrustProxyHeaders {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if last = strings.TrimSpace(last); last != "" {
				host = last
			}
		}
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
