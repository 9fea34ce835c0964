package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "localhost:8080" || cfg.Origin() != "http://localhost:8080" || cfg.DatabasePath != "data/skiff.db" ||
		cfg.Env != "development" || cfg.TrustProxyHeaders || cfg.Secure() || !cfg.ReadCache {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"APP_ENV": "production", "BASE_URL": "http://example.com"}, "BASE_URL must use https://"},
		{map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{map[string]string{"BASE_URL": "example.com"}, "BASE_URL"},
		{map[string]string{"BASE_URL": "https://example.com/app"}, "BASE_URL must be an origin"},
		{map[string]string{"TRUST_PROXY_HEADERS": "maybe"}, "TRUST_PROXY_HEADERS"},
		{map[string]string{"TRUSTED_PROXIES": "127.0.0.1/33"}, "TRUSTED_PROXIES"},
		{map[string]string{"TRUSTED_PROXIES": "caddy"}, "TRUSTED_PROXIES"},
		{map[string]string{"READ_CACHE": "sometimes"}, "READ_CACHE must be on or off"},
		{map[string]string{"DATABASE_PATH": "x.db?mode=ro"}, "DATABASE_PATH"},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"PPROF_ADDR": ":6060"}, "PPROF_ADDR must be a loopback address"},
		{map[string]string{"PPROF_ADDR": "0.0.0.0:6060"}, "PPROF_ADDR must be a loopback address"},
		{map[string]string{"PPROF_ADDR": "example.com:6060"}, "PPROF_ADDR must be a loopback address"},
		{map[string]string{"PPROF_ADDR": "127.0.0.1"}, "PPROF_ADDR must be a loopback address"},
	}
	for _, tt := range tests {
		_, err := LoadConfig(envOf(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err %v, want one line containing %q", tt.env, err, tt.want)
		}
	}
	cfg, err := LoadConfig(envOf(map[string]string{"APP_ENV": "production", "BASE_URL": "https://app.example.com", "TRUST_PROXY_HEADERS": "true", "SMTP_URL": "smtp://u:p@mail.example.com:587?tls=required"}))
	if err != nil || !cfg.Secure() || !cfg.TrustProxyHeaders {
		t.Fatalf("valid production config: %+v, %v", cfg, err)
	}
	if cfg, err := LoadConfig(envOf(map[string]string{"READ_CACHE": "off"})); err != nil || cfg.ReadCache {
		t.Errorf("READ_CACHE=off: %+v, %v", cfg.ReadCache, err)
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if cfg, err := LoadConfig(envOf(map[string]string{"PPROF_ADDR": addr})); err != nil || cfg.PprofAddr != addr {
			t.Errorf("PPROF_ADDR=%s: %v", addr, err)
		}
	}
}

// TestSMTPPasswordNeedsTLS: credentials in an smtp:// URL that does not
// require TLS can never be sent (go-mail refuses), so start-up refuses the
// setting, naming SMTP_URL and the fix, without echoing the password.
func TestSMTPPasswordNeedsTLS(t *testing.T) {
	for _, raw := range []string{
		"smtp://apikey:s3cret-pw@smtp.example.com:587",
		"smtp://apikey:s3cret-pw@127.0.0.1:1025", // go-mail's auto-discovery refuses PLAIN/LOGIN on localhost too
		"smtp://apikey@smtp.example.com",
	} {
		_, err := LoadConfig(envOf(map[string]string{"SMTP_URL": raw}))
		if err == nil || !strings.HasPrefix(err.Error(), "config: SMTP_URL") || !strings.Contains(err.Error(), "?tls=required") ||
			strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("SMTP_URL=%s: err %v, want one naming SMTP_URL and ?tls=required, without the password", raw, err)
		}
	}
	for _, raw := range []string{
		"smtp://apikey:s3cret-pw@smtp.example.com:587?tls=required",
		"smtps://apikey:s3cret-pw@smtp.example.com:465",
		"smtp://relay.internal:25", // no credentials: STARTTLS when offered
	} {
		if _, err := LoadConfig(envOf(map[string]string{"SMTP_URL": raw})); err != nil {
			t.Errorf("SMTP_URL=%s: %v", raw, err)
		}
	}
}

func TestDotEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(path, []byte(`# comment
ADDR=0.0.0.0:9000
export BASE_URL="https://app.example.com"
APP_ENV=production # trailing comment
LOG_LEVEL='warn'
`), 0o600)
	real := envOf(map[string]string{"ADDR": "127.0.0.1:7000"})
	getenv, err := WithDotEnv(path, real)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"ADDR":      "127.0.0.1:7000", // the real environment wins
		"BASE_URL":  "https://app.example.com",
		"APP_ENV":   "production",
		"LOG_LEVEL": "warn",
		"MISSING":   "",
	} {
		if got := getenv(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if _, err := WithDotEnv(filepath.Join(t.TempDir(), "none"), real); err != nil {
		t.Fatal("a missing .env is not an error:", err)
	}
	os.WriteFile(path, []byte("NOT A LINE\n"), 0o600)
	if _, err := WithDotEnv(path, real); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("bad line: err %v", err)
	}
}

func TestPasswordHashFormat(t *testing.T) {
	h := newPasswordHasher(defaultArgon)
	ctx := t.Context()
	hash, err := h.hash(ctx, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", hash)
	}
	other, _ := h.hash(ctx, "a long enough password")
	if other == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if rehash, err := h.verify(ctx, "a long enough password", hash); err != nil || rehash {
		t.Fatalf("verify: rehash=%v err=%v", rehash, err)
	}
	if _, err := h.verify(ctx, "a long enough passworD", hash); err != errPasswordMismatch {
		t.Fatalf("wrong password: %v", err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=x$a$b"} {
		if _, err := h.verify(ctx, "x", bad); err == nil {
			t.Errorf("accepted malformed hash %q", bad)
		}
	}
}

func TestCommonPasswords(t *testing.T) {
	for _, pw := range []string{"password", "12345678", "iloveyou", "PASSWORD1", "qwertyuiop"} {
		if !isCommonPassword(pw) {
			t.Errorf("%q not found in the list", pw)
		}
	}
	if isCommonPassword(testPassword) {
		t.Errorf("%q flagged as common", testPassword)
	}
	if n := len(commonPasswords()); n < 10000 {
		t.Fatalf("only %d passwords loaded", n)
	}
}
