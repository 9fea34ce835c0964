package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// Fuzz tests: `go test -fuzz FuzzForms ./app/` explores; plain `go test` runs
// the seeds in testdata/fuzz. Whatever arrives, the answer is never a panic
// nor a 5xx.

func fuzzServer(f *testing.F, opts ...testOption) (*testServer, *http.Cookie) {
	ts := newTestServer(f, append([]testOption{func(c *testSetup) {
		c.Limits.LoginPerIP = Rate{N: 1 << 30, Per: time.Second}
		c.Limits.SignupPerIP = Rate{N: 1 << 30, Per: time.Second}
		c.Limits.MailPerAddress = Rate{N: 1 << 30, Per: time.Second}
		c.Limits.MailPerIP = Rate{N: 1 << 30, Per: time.Second}
	}}, opts...)...)
	c := ts.newClient()
	c.signup("fuzz@example.com")
	return ts, c.cookie()
}

func FuzzForms(f *testing.F) {
	ts, ck := fuzzServer(f)
	f.Add("/login", "application/x-www-form-urlencoded", []byte("email=a%40b.co&password=x&next=%2F%2Fevil"))
	f.Add("/projects", "application/x-www-form-urlencoded", []byte("name=%ff%fe"))
	f.Add("/forgot-password", "multipart/form-data; boundary=x", []byte("--x\r\n"))
	f.Add("/settings/email", "application/x-www-form-urlencoded", []byte("email=&current_password=%zz"))
	paths := []string{"/signup", "/login", "/projects", "/forgot-password", "/login/magic", "/reset-password",
		"/login/magic/confirm", "/settings/email", "/settings/password", "/projects/1/delete", "/billing/checkout", "/logout",
		"/teams", "/invitations/accept"}
	f.Fuzz(func(t *testing.T, path, contentType string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = paths[len(path)%len(paths)]
		}
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.URL.Path = path
		req.Header.Set("Content-Type", contentType)
		req.AddCookie(ck)
		w := httptest.NewRecorder()
		ts.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("POST %q (%q, %q): %d", path, contentType, body, w.Code)
		}
	})
}

func FuzzTokenLinks(f *testing.F) {
	ts, _ := fuzzServer(f)
	f.Add(strings.Repeat("A", 43))
	f.Add("")
	f.Add("%00%ff")
	f.Add("abc def")
	f.Fuzz(func(t *testing.T, token string) {
		if _, ok := tokenHash(token); ok && len(token) != tokenLen {
			t.Fatalf("tokenHash accepted %q", token)
		}
		for _, p := range []string{"/verify-email", "/reset-password", "/login/magic/confirm", "/settings/email/confirm"} {
			req := httptest.NewRequest("GET", "/", nil)
			req.URL.Path, req.URL.RawQuery = p, "token="+token
			w := httptest.NewRecorder()
			ts.srv.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("GET %s?token=%q: %d", p, token, w.Code)
			}
		}
	})
}

func FuzzStripeWebhook(f *testing.F) {
	fake := newFakeStripe(f)
	ts := newTestServer(f, withStripe(fake))
	f.Add([]byte(`{"id":"evt_1","object":"event","api_version":"2023-10-16","created":1,"type":"customer.subscription.updated","data":{"object":{"id":"sub_1","customer":"cus_1","items":{"data":[{"price":null}]}}}}`), true)
	f.Add([]byte(`{"id":"evt_2","api_version":"2023-10-16","type":"invoice.paid","data":{"object":{"subscription":{"id":7}}}}`), true)
	f.Add([]byte(`{"id":"","api_version":"2023-10-16","type":"checkout.session.completed","data":{"object":"x"}}`), true)
	f.Add([]byte(`not json`), false)
	f.Fuzz(func(t *testing.T, payload []byte, sign bool) {
		req := httptest.NewRequest("POST", "/webhooks/stripe", bytes.NewReader(payload))
		if sign {
			signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret})
			req.Header.Set("Stripe-Signature", signed.Header)
		} else {
			req.Header.Set("Stripe-Signature", string(payload))
		}
		w := httptest.NewRecorder()
		ts.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("webhook %q: %d %s", payload, w.Code, w.Body)
		}
	})
}

// FuzzNormalizeEmail: the normal form of an address is its own normal form,
// so two addresses that look the same can never be stored as two accounts
// (and the start-up rewrite of stored addresses changes nothing twice).
func FuzzNormalizeEmail(f *testing.F) {
	for _, seed := range []string{"ada@example.com", " ＡＤＡ@Example.COM ", "J\u030Cohn@example.com", "\u01F0ohn@example.com",
		"bob@bücher.de", "bob@xn--bcher-kva.de", "ǅz@x.com", "℃@x.com", "ada\u200b@example.com"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeEmail(s)
		if emailProblem(n) != "" {
			return
		}
		if again := normalizeEmail(n); again != n {
			t.Fatalf("normalizeEmail(%q) = %q, but normalizeEmail(%q) = %q", s, n, n, again)
		}
	})
}
