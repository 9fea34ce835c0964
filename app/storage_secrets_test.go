package app

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"skiff/db"
	"skiff/db/dbtest"
)

// Rule 7 of issue 12: no usable secret at rest beyond what must be there.
// Rule 8: the development mailbox shows mail only where nobody else can read it.

// waitForStatus waits until the outbox row of the mail to `to` has status.
func waitForStatus(t *testing.T, ts *testServer, to, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		ts.db.Read.QueryRow(`SELECT status FROM emails WHERE to_addr = ? ORDER BY id DESC LIMIT 1`, to).Scan(&got)
		if got == status {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("mail to %s: status %q, want %q", to, got, status)
}

// outboxRow is what the emails table keeps of one mail.
type outboxRow struct{ subject, status, text, html, lastError string }

// outboxRows returns the outbox rows of the mails to `to`, oldest first.
func outboxRows(t *testing.T, conn *sql.DB, to string) []outboxRow {
	t.Helper()
	rows, err := conn.Query(`SELECT subject, status, text_body, html_body, last_error FROM emails WHERE to_addr = ? ORDER BY id`, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.subject, &r.status, &r.text, &r.html, &r.lastError); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeliveredMailKeepsNoLiveLink: whoever reads the database (a copy of the
// file, a stolen backup, a replica) finds no usable link in mail that was
// sent or given up; the outbox still says what was sent, to whom, and why it
// failed.
func TestDeliveredMailKeepsNoLiveLink(t *testing.T) {
	t.Run("sent", func(t *testing.T) {
		ts := newTestServer(t)
		ts.newClient().signup("ada@example.com")
		mail := ts.smtp.waitFor("ada@example.com", "Confirm your email address")
		token := tokenOf(t, mail.link(t, ts.URL+"/verify-email?token="))
		waitForStatus(t, ts, "ada@example.com", "sent")

		rows := outboxRows(t, ts.db.Read, "ada@example.com")
		if len(rows) != 1 || rows[0].subject != "Confirm your email address" {
			t.Fatalf("outbox rows %+v, want the confirmation mail", rows)
		}
		if r := rows[0]; r.text != "" || r.html != "" {
			t.Fatalf("a sent mail keeps its body (the live link) in the database:\n%.300s", r.text)
		}
		var holding int
		ts.db.Read.QueryRow(`SELECT count(*) FROM emails
			WHERE instr(to_addr || subject || text_body || html_body || last_error, ?) > 0`, token).Scan(&holding)
		if holding != 0 {
			t.Fatalf("%d outbox rows still hold the mailed token", holding)
		}
		// The mailed link still works: only the stored copy is gone.
		wantBody(t, ts.newClient().get(ts.path(mail.link(t, ts.URL+"/verify-email?token="))), "Confirm that <strong>ada@example.com</strong> is yours")
	})

	t.Run("given up", func(t *testing.T) {
		ts := newTestServer(t)
		ts.smtp.stop()
		ts.srv.outbox.giveUpAfter = 0
		ts.newClient().signup("bob@example.com")
		waitForStatus(t, ts, "bob@example.com", "failed")

		rows := outboxRows(t, ts.db.Read, "bob@example.com")
		if len(rows) != 1 || rows[0].subject != "Confirm your email address" || rows[0].lastError == "" {
			t.Fatalf("outbox rows %+v, want the failed confirmation mail with its error", rows)
		}
		if r := rows[0]; r.text != "" || r.html != "" {
			t.Fatalf("a mail given up keeps its body (the live link) in the database:\n%.300s", r.text)
		}
	})

	t.Run("pending mail keeps its body until delivered", func(t *testing.T) {
		ts := newTestServer(t)
		ts.smtp.stop()
		ts.newClient().signup("cy@example.com")
		deadline := time.Now().Add(5 * time.Second)
		var attempts int
		for attempts < 1 && time.Now().Before(deadline) {
			ts.db.Read.QueryRow(`SELECT attempts FROM emails WHERE to_addr = 'cy@example.com'`).Scan(&attempts)
			time.Sleep(20 * time.Millisecond)
		}
		rows := outboxRows(t, ts.db.Read, "cy@example.com")
		if attempts < 1 || len(rows) != 1 || rows[0].status != "pending" || !strings.Contains(rows[0].text, "/verify-email?token=") {
			t.Fatalf("after %d failed attempts: outbox rows %+v, want the pending mail with its link", attempts, rows)
		}
		ts.smtp.start()
		ts.smtp.waitFor("cy@example.com", "Confirm your email address")
		waitForStatus(t, ts, "cy@example.com", "sent")
		if r := outboxRows(t, ts.db.Read, "cy@example.com")[0]; r.text != "" || r.html != "" {
			t.Fatal("the mail kept its body once delivered after a retry")
		}
	})

	// A database from before this change still holds the bodies of mail
	// already sent or given up: migration 0011 empties them.
	t.Run("mail sent before the upgrade", func(t *testing.T) {
		ctx := context.Background()
		d, err := db.Open(ctx, filepath.Join(t.TempDir(), "skiff.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		// The database as an older version left it: bodies kept, 0011 not applied.
		for _, status := range []string{"sent", "failed", "pending"} {
			if _, err := d.Write.Exec(`
				INSERT INTO emails (to_addr, subject, text_body, html_body, status, next_attempt_at, created_at)
				VALUES (?, 'Reset your password', 'https://app.example.com/reset-password?token=live-`+status+`',
				        '<a href="https://app.example.com/reset-password?token=live-`+status+`">', ?, '2999-01-01', '2026-01-01')`,
				status+"@example.com", status); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Write.Exec(`DELETE FROM schema_migrations WHERE name = '0011_redact_delivered_mail.sql'`); err != nil {
			t.Fatal(err)
		}
		applied, err := d.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, status := range []string{"sent", "failed"} {
			rows := outboxRows(t, d.Read, status+"@example.com")
			if len(rows) != 1 || rows[0].subject != "Reset your password" || rows[0].status != status {
				t.Fatalf("%s mail: rows %+v", status, rows)
			}
			if rows[0].text != "" || rows[0].html != "" {
				t.Errorf("a %s mail stored before the upgrade keeps its live link after migrating (applied %v)", status, applied)
			}
		}
		if rows := outboxRows(t, d.Read, "pending@example.com"); len(rows) != 1 || !strings.Contains(rows[0].text, "token=live-pending") {
			t.Fatalf("the upgrade emptied a pending mail, which then goes out without its link: %+v", rows)
		}
	})
}

// runCmd runs the skiff command line (as main does) on the database at
// dbPath, in development with the dev mailbox.
func runCmd(t *testing.T, dbPath string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env := map[string]string{"DATABASE_PATH": dbPath, "APP_ENV": "development"}
	if db.IsPostgres(dbPath) {
		env = map[string]string{"DATABASE_URL": dbPath, "APP_ENV": "development"}
	}
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestStolenBackupHoldsNoLiveLinks: a snapshot copied off the machine (the
// thing most likely to leak) carries no link that still works, whether mail
// went out through SMTP or to the development mailbox, which keeps its copy
// in memory only.
func TestStolenBackupHoldsNoLiveLinks(t *testing.T) {
	for _, mailbox := range []string{"smtp", "development mailbox"} {
		t.Run(mailbox, func(t *testing.T) {
			var ts *testServer
			if mailbox == "smtp" {
				ts = newTestServer(t)
			} else {
				ts = newTestServer(t, withDevMailbox())
			}
			ada := ts.newClient()
			ada.signup("ada@example.com")
			wantStatus(t, ts.newClient().post("/forgot-password", url.Values{"email": {"ada@example.com"}}), http.StatusOK)

			// The links as the user received them.
			var links []string
			if mailbox == "smtp" {
				links = append(links,
					ts.smtp.waitFor("ada@example.com", "Confirm your email address").link(t, ts.URL+"/verify-email?token="),
					ts.smtp.waitFor("ada@example.com", "Reset your password").link(t, ts.URL+"/reset-password?token="))
			} else {
				// The development mailbox page: verification and reset link.
				waitForStatus(t, ts, "ada@example.com", "sent")
				for _, l := range linkRE.FindAllString(ada.get("/dev/mail").body, -1) {
					if strings.Contains(l, "token=") && !slices.Contains(links, l) {
						links = append(links, l)
					}
				}
				if len(links) != 2 {
					t.Fatalf("the development mailbox lists the links %q, want the verification and the reset link", links)
				}
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				var pending int
				ts.db.Read.QueryRow(`SELECT count(*) FROM emails WHERE status = 'pending'`).Scan(&pending)
				if pending == 0 {
					break
				}
			}

			// On SQLite the snapshot `skiff backup` writes; on Postgres,
			// where pg_dump makes the backups, every row of every table.
			var raw []byte
			snap := ts.db.Read
			if ts.db.Postgres() {
				raw = []byte(ts.dbSnapshot())
			} else {
				backup := filepath.Join(t.TempDir(), "stolen.db")
				if _, stderr, err := runCmd(t, ts.dbPath, "backup", backup); err != nil {
					t.Fatalf("skiff backup: %v\n%s", err, stderr)
				}
				var err error
				if raw, err = os.ReadFile(backup); err != nil {
					t.Fatal(err)
				}
				if snap, err = sql.Open("sqlite", "file:"+backup+"?mode=ro"); err != nil {
					t.Fatal(err)
				}
				defer snap.Close()
			}
			// The snapshot is the real thing: both mails are listed in it.
			if rows := outboxRows(t, snap, "ada@example.com"); len(rows) != 2 {
				t.Fatalf("the backup lists %d mails to ada, want 2: %+v", len(rows), rows)
			}
			for _, link := range links {
				token := tokenOf(t, link)
				if len(token) < 20 {
					t.Fatalf("no token in %q", link)
				}
				if bytes.Contains(raw, []byte(token)) {
					t.Errorf("the backup holds the live token of %s", link)
				}
			}
			// And the links still work for their owner.
			for _, link := range links {
				if strings.Contains(link, "/verify-email?") {
					wantRedirect(t, ada.post("/verify-email", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
				}
			}
		})
	}
}

// wantMode checks the permission bits of path.
func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
	}
}

// TestOtherLocalUsersCannotReadTheDatabase: another account on the machine
// (a compromised service, a shared host) can read none of the files that
// hold password hashes, TOTP secrets, sessions and pending mail, even when
// the process runs with a permissive umask.
func TestOtherLocalUsersCannotReadTheDatabase(t *testing.T) {
	dbtest.SQLiteOnly(t, "the database's files and the backups' (PostgreSQL keeps its own files)")
	old := syscall.Umask(0) // the worst case: files would be 0644 and folders 0755
	t.Cleanup(func() { syscall.Umask(old) })
	ctx := context.Background()

	dataDir := filepath.Join(t.TempDir(), "data") // missing: Skiff creates it
	dbPath := filepath.Join(dataDir, "skiff.db")
	backupDir := filepath.Join(t.TempDir(), "backups")
	ts := newTestServer(t, withDB(dbPath), func(c *testSetup) { c.BackupDir = backupDir })

	// Real writes through HTTP, so the -wal and -shm exist and hold data.
	ada := ts.newClient()
	ada.signup("ada@example.com")
	wantStatus(t, ada.post("/projects", url.Values{"name": {"Moon"}}), http.StatusSeeOther)
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dbPath + suffix); err != nil {
			t.Fatalf("want a %s file while the server runs: %v", suffix, err)
		}
	}
	wantMode(t, dataDir, 0o700)
	wantMode(t, dbPath, 0o600)
	wantMode(t, dbPath+"-wal", 0o600)
	wantMode(t, dbPath+"-shm", 0o600)

	t.Run("skiff backup", func(t *testing.T) {
		snapDir := filepath.Join(t.TempDir(), "snapshots") // missing: created
		snap := filepath.Join(snapDir, "skiff.db")
		if _, stderr, err := runCmd(t, dbPath, "backup", snap); err != nil {
			t.Fatalf("skiff backup: %v\n%s", err, stderr)
		}
		wantMode(t, snapDir, 0o700)
		wantMode(t, snap, 0o600)
	})

	t.Run("scheduled backup", func(t *testing.T) {
		ts.srv.scheduledBackup(ctx)
		entries, err := os.ReadDir(backupDir)
		if err != nil || len(entries) != 1 {
			t.Fatalf("BACKUP_DIR holds %v (%v), want one snapshot; logs:\n%s", entries, err, ts.logs.String())
		}
		wantMode(t, backupDir, 0o700)
		wantMode(t, filepath.Join(backupDir, entries[0].Name()), 0o600)
	})

	t.Run("skiff restore", func(t *testing.T) {
		snap := filepath.Join(t.TempDir(), "snap.db")
		if _, stderr, err := runCmd(t, dbPath, "backup", snap); err != nil {
			t.Fatalf("skiff backup: %v\n%s", err, stderr)
		}
		ts.stop()
		// The database as an older version (or `litestream restore`) left it.
		if err := os.Chmod(dbPath, 0o644); err != nil {
			t.Fatal(err)
		}
		// A leftover of an interrupted restore, readable by all.
		if err := os.WriteFile(dbPath+".restoring", []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := runCmd(t, dbPath, "restore", snap)
		if err != nil || !strings.Contains(out, "restored") {
			t.Fatalf("skiff restore: %v\n%s%s", err, out, stderr)
		}
		wantMode(t, dbPath, 0o600)                   // the restored database (was .restoring)
		wantMode(t, dbPath+".before-restore", 0o600) // the kept copy
		wantMode(t, dbPath+".lock", 0o600)
		if _, err := os.Stat(dbPath + ".restoring"); err == nil {
			t.Error("the .restoring copy is still there")
		}
	})

	t.Run("files left readable by an older version", func(t *testing.T) {
		// Another program has the database open (the sqlite3 shell, a
		// crashed server's leftovers): -wal and -shm exist, all 0644.
		if err := os.Chmod(dbPath, 0o644); err != nil {
			t.Fatal(err)
		}
		other, err := sql.Open("sqlite", db.DSN(dbPath))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.Exec(`INSERT INTO projects (team_id, name, created_at) SELECT id, 'Mars', '2026-01-01' FROM teams`); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o644 {
				t.Fatalf("setup: %s is %#o, want 0644", p, info.Mode().Perm())
			}
		}
		if _, stderr, err := runCmd(t, dbPath, "migrate"); err != nil {
			t.Fatalf("skiff migrate: %v\n%s", err, stderr)
		}
		wantMode(t, dbPath, 0o600)
		wantMode(t, dbPath+"-wal", 0o600)
		wantMode(t, dbPath+"-shm", 0o600)
	})
}

// TestDevMailboxIsNotPublic: the development mailbox lists live links (a
// password reset, a magic link) for anyone's account, so nobody but the
// developer at this machine may read it: not a visitor through a reverse
// proxy, not another machine, and never when real mail goes out.
func TestDevMailboxIsNotPublic(t *testing.T) {
	// notFound checks for the site's ordinary 404 page: the mailbox does not
	// even admit that it exists.
	notFound := func(t *testing.T, status int, body string) {
		t.Helper()
		if status != http.StatusNotFound || !strings.Contains(body, "Page not found") {
			t.Fatalf("status %d, want the 404 page; body:\n%.600s", status, body)
		}
	}
	// withMail starts a server and has ada sign up: once her mail is marked
	// sent, the mailer has it.
	withMail := func(t *testing.T, opts ...testOption) *testServer {
		ts := newTestServer(t, opts...)
		ts.newClient().signup("ada@example.com")
		waitForStatus(t, ts, "ada@example.com", "sent")
		return ts
	}

	t.Run("development with SMTP_URL set", func(t *testing.T) {
		ts := withMail(t) // APP_ENV=development, mail through SMTP
		c := ts.newClient()
		for _, path := range []string{"/dev/mail", "/dev/mail/1"} {
			res := c.get(path)
			notFound(t, res.StatusCode, res.body)
		}
	})

	ts := withMail(t, withDevMailbox())

	t.Run("through a reverse proxy on this machine", func(t *testing.T) {
		c := ts.newClient()
		for _, h := range []struct{ name, value string }{
			{"X-Forwarded-For", "203.0.113.5"},
			{"Forwarded", "for=203.0.113.5;proto=https"},
			{"X-Real-IP", "203.0.113.5"},
			{"X-Forwarded-For", ""}, // present, even empty, means a proxy
		} {
			for _, path := range []string{"/dev/mail", "/dev/mail/1"} {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
				req.Header[http.CanonicalHeaderKey(h.name)] = []string{h.value}
				res := c.do(req)
				notFound(t, res.StatusCode, res.body)
			}
		}
	})

	t.Run("from another machine", func(t *testing.T) {
		for _, peer := range []string{"203.0.113.5:1234", "[2001:db8::5]:1234", "192.168.1.20:1234"} {
			for _, path := range []string{"/dev/mail", "/dev/mail/1"} {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.RemoteAddr = peer
				rec := httptest.NewRecorder()
				ts.srv.ServeHTTP(rec, req)
				notFound(t, rec.Code, rec.Body.String())
			}
		}
	})

	t.Run("from a web page on another name (DNS rebinding)", func(t *testing.T) {
		// attacker.example resolves to 127.0.0.1: the developer's own browser
		// connects from loopback, with no proxy header, but names the site.
		for _, path := range []string{"/dev/mail", "/dev/mail/1"} {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
			req.Host = "attacker.example:8080"
			res := ts.newClient().do(req)
			notFound(t, res.StatusCode, res.body)
		}
	})

	t.Run("production", func(t *testing.T) {
		prod := withMail(t, withTLS(), func(c *testSetup) { c.Env = "production" })
		c := prod.newClient()
		for _, path := range []string{"/dev/mail", "/dev/mail/1"} {
			res := c.get(path)
			notFound(t, res.StatusCode, res.body)
		}
	})

	t.Run("the developer on this machine", func(t *testing.T) {
		c := ts.newClient()
		res := c.get("/dev/mail")
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Confirm your email address", "To ada@example.com", `href="`+ts.URL+`/verify-email?token=`)
		// The same over IPv6 loopback, as the Go server reports it.
		req := httptest.NewRequest(http.MethodGet, "/dev/mail/1", nil)
		req.RemoteAddr, req.Host = "[::1]:54321", "[::1]:8080"
		rec := httptest.NewRecorder()
		ts.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Confirm my address") {
			t.Fatalf("GET /dev/mail/1 from [::1]: %d\n%.600s", rec.Code, rec.Body.String())
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
			t.Fatalf("the mail's HTML is served with CSP %q", csp)
		}
	})

	// Started on a public address, the instance says so once: its pages are
	// reachable from elsewhere, its mailbox is not.
	t.Run("start-up on a public address", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
			env := map[string]string{"ADDR": addr, "APP_ENV": "development", "DATABASE_PATH": filepath.Join(t.TempDir(), "skiff.db")}
			ctx, cancel := context.WithCancel(context.Background())
			logs := &syncBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &bytes.Buffer{}, logs)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(logs.String(), "skiff is ready") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("serve on %s: %v\n%s", addr, err, logs)
			}
			told := strings.Count(logs.String(), "the development mailbox (/dev/mail) only answers clients on this machine")
			if want := map[string]int{"127.0.0.1:0": 0, "0.0.0.0:0": 1}[addr]; told != want {
				t.Errorf("ADDR=%s: the mailbox notice is logged %d times, want %d; logs:\n%s", addr, told, want, logs)
			}
		}
	})
}

// TestMailFloodCannotGrowTheDevMailbox: however much mail a development
// instance sends (a signup script, a loop), the mailbox keeps the newest 100
// in memory and lets the rest go.
func TestMailFloodCannotGrowTheDevMailbox(t *testing.T) {
	ts := newTestServer(t, withDevMailbox())
	c := ts.newClient()
	var wg sync.WaitGroup
	for w := range 4 { // senders and a reader at once, for the race detector
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				m := Message{To: "flood@example.com", Subject: fmt.Sprintf("Flood %d-%d", w, i), Text: "hello", HTML: "<p>hello</p>"}
				if err := ts.srv.outbox.mailer.Send(context.Background(), m); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	c.get("/dev/mail")
	wg.Wait()
	last := Message{To: "flood@example.com", Subject: "The newest mail", Text: "see " + ts.URL + "/dashboard", HTML: "<p>The newest mail</p>"}
	if err := ts.srv.outbox.mailer.Send(context.Background(), last); err != nil {
		t.Fatal(err)
	}

	res := c.get("/dev/mail")
	wantStatus(t, res, http.StatusOK)
	if n := strings.Count(res.body, `class="dev-mail"`); n != 100 {
		t.Fatalf("the mailbox lists %d of 121 mails, want the newest 100", n)
	}
	first := strings.Index(res.body, "The newest mail")
	if first < 0 || first > strings.Index(res.body, "Flood ") {
		t.Fatal("the newest mail is not listed first")
	}
	wantBody(t, res, `href="`+ts.URL+`/dashboard"`)
	wantBody(t, c.get("/dev/mail/121"), "<p>The newest mail</p>")
	wantStatus(t, c.get("/dev/mail/21"), http.StatusNotFound) // the 21 oldest are gone
	wantStatus(t, c.get("/dev/mail/22"), http.StatusOK)
}

// envLines reads KEY=VALUE lines the way `docker run --env-file` does: the
// value is everything after the first '=', quotes included.
func envLines(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not KEY=VALUE: %q", line)
		}
		env[key] = value
	}
	return env
}

// TestDeployedInstanceIsNeverADevelopmentOne: the documented ways to deploy
// (the Docker image with the production env file, the systemd unit) give a
// production configuration, so a deployed site never serves the development
// mailbox or http:// links; and the image alone, unconfigured, refuses to
// start instead of falling back to development.
func TestDeployedInstanceIsNeverADevelopmentOne(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	envFile := envLines(t, read("skiff.env.example"))

	// The image's ENV lines (those of its last stage).
	dockerfile := read("Dockerfile")
	image := map[string]string{}
	for _, line := range strings.Split(dockerfile[strings.LastIndex(dockerfile, "\nFROM "):], "\n") {
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				image[k] = v
			}
		}
	}
	// The unit's Environment= lines; its EnvironmentFile is skiff.env.
	unit := map[string]string{}
	for _, line := range strings.Split(read("skiff.service"), "\n") {
		if kv, ok := strings.CutPrefix(line, "Environment="); ok {
			k, v, _ := strings.Cut(kv, "=")
			unit[k] = v
		}
	}
	if !strings.Contains(read("skiff.service"), "EnvironmentFile=/etc/skiff/skiff.env") {
		t.Fatal("the unit no longer reads /etc/skiff/skiff.env")
	}
	merge := func(layers ...map[string]string) func(string) string {
		env := map[string]string{}
		for _, l := range layers {
			for k, v := range l {
				env[k] = v
			}
		}
		return func(k string) string { return env[k] }
	}

	// systemd, unlike Docker, takes quotes off a value.
	systemdFile := map[string]string{}
	for k, v := range envFile {
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		systemdFile[k] = v
	}

	for name, getenv := range map[string]func(string) string{
		"docker run --env-file skiff.env": merge(image, envFile), // the env file wins over the image
		"systemd unit":                    merge(unit, systemdFile),
	} {
		cfg, err := LoadConfig(getenv)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if cfg.Dev() || cfg.SMTPURL == nil || !cfg.Secure() {
			t.Errorf("%s: APP_ENV=%s, SMTP_URL set %v, https %v; want production", name, cfg.Env, cfg.SMTPURL != nil, cfg.Secure())
		}
	}

	// The image with nothing set, or without SMTP_URL: one line naming the key.
	if _, err := LoadConfig(merge(image)); err == nil || !strings.Contains(err.Error(), "BASE_URL") {
		t.Errorf("the image alone starts (err %v); want a refusal naming BASE_URL", err)
	}
	noSMTP := merge(image, envFile, map[string]string{"SMTP_URL": ""})
	if _, err := LoadConfig(noSMTP); err == nil || !strings.Contains(err.Error(), "SMTP_URL") {
		t.Errorf("the image without SMTP_URL starts (err %v); want a refusal naming SMTP_URL", err)
	}
}

// TestEnvExampleWorksEverywhere: .env.example, copied to .env, means the same
// to Skiff's loader, a shell (set -a; . ./.env), systemd's EnvironmentFile=
// and `docker run --env-file` (which keeps quotes and " #" in the value): no
// active line has a quote, a space, a comment or a shell character in its
// value. And it does not override what the Docker image sets (ADDR, APP_ENV,
// DATABASE_PATH), so the image stays a production one.
func TestEnvExampleWorksEverywhere(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	portable := regexp.MustCompile(`^[A-Z][A-Z0-9_]*=[A-Za-z0-9_./:@,%+-]*$`)
	for n, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !portable.MatchString(line) {
			t.Errorf(".env.example:%d: %q: keep quotes, spaces and comments out of active lines (comment the example out)", n+1, line)
		}
	}
	docker := envLines(t, string(b))
	for _, key := range []string{"ADDR", "APP_ENV", "DATABASE_PATH", "BASE_URL"} {
		if v, ok := docker[key]; ok {
			t.Errorf(".env.example sets %s=%s: it would override the Docker image's own value", key, v)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".env"), b, 0o600)
	t.Chdir(dir)
	loaded, err := WithDotEnv(".env", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range docker {
		if loaded(k) != v {
			t.Errorf("%s: Skiff reads %q, Docker %q", k, loaded(k), v)
		}
	}
	// As a development .env it is `make run`'s defaults.
	cfg, err := LoadConfig(loaded)
	if err != nil || !cfg.Dev() || cfg.Addr != "localhost:8080" {
		t.Fatalf("as .env: %v, dev %v, ADDR %s", err, cfg.Dev(), cfg.Addr)
	}
}
