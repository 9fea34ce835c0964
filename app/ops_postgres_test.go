package app

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff/db"
	"skiff/db/dbtest"
)

// TestCopyToPostgres: a SQLite database with a row in every table moves to
// an empty Postgres one with `skiff copy-to-postgres`, every row as it was;
// a server on Postgres then goes on where the file left off: the same
// browser still logged in, passwords, teams and projects as they were, and
// new ids after the highest the file ever gave, a deleted account's
// included. A second copy, a copy into a database in use, and a copy while
// a server holds the file are refused.
func TestCopyToPostgres(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("needs PostgreSQL (make test-postgres)")
	}
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "skiff.db")
	fake := newFakeStripe(t)
	ts := newTestServer(t, withDB(file), withStripe(fake))
	if ts.db.Postgres() {
		t.Fatal("the source is not SQLite")
	}

	// Something in every table.
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	wantRedirect(t, ada.post(acme+"/invitations", url.Values{"email": {"bob@example.com"}, "role": {db.RoleMember}}), acme+"/members")
	ts.mailSettled()
	link := ts.path(ts.smtp.latest("bob@example.com", "invited you to Acme").link(t, ts.URL+"/invitations/accept?token="))
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	wantRedirect(t, bob.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}}), acme+"/projects")
	wantRedirect(t, ada.post(acme+"/invitations", url.Values{"email": {"cyd@example.com"}, "role": {db.RoleAdmin}}), acme+"/members")
	for _, name := range []string{"Moonshot", "Harbour"} {
		ada.post(acme+"/projects", url.Values{"name": {name}})
	}
	ada.post("/projects", url.Values{"name": {"Mine"}})
	ada.newToken("script")
	turnOnTwoFactor(t, ts, bob)
	ts.newClient().signup("pending@example.com") // an unverified account, its link unused
	gone := ts.newClient()
	gone.signupVerified("gone@example.com")
	goneID := ts.userID("gone@example.com")
	wantRedirect(t, gone.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	team, _ := strconv.ParseInt(strings.TrimPrefix(acme, "/t/"), 10, 64)
	if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_acme", TeamID: team, CustomerID: "cus_acme",
		PriceID: "price_pro", ItemID: "si_acme", Quantity: 2, Plan: PlanPro, Status: "active", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.SaveCustomer(ctx, team, "cus_acme"); err != nil {
		t.Fatal(err)
	}
	if err := ts.db.RecordEvent(ctx, "evt_1", "invoice.paid", time.Now().Unix(), []byte(`{"id":"evt_1"}`)); err != nil {
		t.Fatal(err)
	}
	ts.mailSettled()
	tables, err := ts.db.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == "passkeys" || tb.Name == "identities" {
			continue // made by a browser or a provider; copied like the others (the columns are checked below)
		}
		if ts.count(`SELECT count(*) FROM `+tb.Name) == 0 {
			t.Errorf("the test data has no row in %s", tb.Name)
		}
	}
	before := map[string][]string{}
	for _, tb := range tables {
		before[tb.Name] = tableRows(t, ts.db, tb)
	}
	adaCookies := ada.hc.Jar.Cookies(mustURL(ts.URL))
	users, err := ts.db.TotalUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts.stop()

	target := dbtest.NewPostgres(t)
	// Refused while a server holds the file.
	unlock, err := db.LockFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, file, "copy-to-postgres", target); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("a copy while a server runs: %v", err)
	}
	unlock()

	out, stderr, err := runCmd(t, file, "copy-to-postgres", target)
	if err != nil {
		t.Fatalf("copy-to-postgres: %v\n%s", err, stderr)
	}
	for _, want := range []string{"every table has the same number of rows", "DATABASE_URL=", "the way back"} {
		if !strings.Contains(out, want) {
			t.Errorf("the command's report does not say %q:\n%s", want, out)
		}
	}
	// Again: refused, nothing changed.
	if _, _, err := runCmd(t, file, "copy-to-postgres", target); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second copy: %v", err)
	}

	pg := newTestServer(t, withDB(target), withStripe(fake))
	if !pg.db.Postgres() {
		t.Fatal("the copy is not Postgres")
	}
	for _, tb := range tables {
		if tb.Name == "schema_migrations" {
			continue
		}
		got := tableRows(t, pg.db, tb)
		if !slices.Equal(got, before[tb.Name]) {
			t.Errorf("%s differs after the copy:\nSQLite   %q\nPostgres %q", tb.Name, before[tb.Name], got)
		}
	}

	// The same browser is still logged in, on Postgres.
	again := pg.newClient()
	again.hc.Jar.SetCookies(mustURL(pg.URL), adaCookies)
	wantBody(t, again.get(acme+"/projects"), "Moonshot", "Harbour")
	wantRedirect(t, pg.newClient().login("ada@example.com", testPassword, false), "/dashboard")
	wantRedirect(t, pg.newClient().login("bob@example.com", testPassword, false), "/login/2fa")
	// New ids continue after the file's highest, the deleted account's too.
	dan := pg.newClient()
	dan.signupVerified("dan@example.com")
	if id := pg.userID("dan@example.com"); id <= goneID {
		t.Fatalf("a new account got id %d, not above the deleted account's %d", id, goneID)
	}
	newTeam := strings.TrimSuffix(dan.post("/teams", url.Values{"name": {"Dan's"}}).Header.Get("Location"), "/projects")
	if id, _ := strconv.ParseInt(strings.TrimPrefix(newTeam, "/t/"), 10, 64); id <= team {
		t.Fatalf("a new team got id %d, not above %d", id, team)
	}
	// The admin's figures, kept by triggers on Postgres, go on from the file's.
	if got, err := pg.db.TotalUsers(ctx); err != nil || got != users+1 {
		t.Fatalf("%d users on the admin's page (%v), want the file's %d and dan", got, err, users)
	}

	// And back: `skiff backup` on Postgres writes the database as a SQLite
	// file, every row as Postgres has it, which a server on the file serves.
	snapshot := filepath.Join(t.TempDir(), "snapshot.db")
	if _, stderr, err := runCmd(t, target, "backup", snapshot); err != nil {
		t.Fatalf("skiff backup on Postgres: %v\n%s", err, stderr)
	}
	now := map[string][]string{}
	for _, tb := range tables { // SQLite's tables and columns
		now[tb.Name] = tableRows(t, pg.db, tb)
	}
	danCookies := dan.hc.Jar.Cookies(mustURL(pg.URL))
	pg.stop()
	back := newTestServer(t, withDB(snapshot))
	if back.db.Postgres() {
		t.Fatal("the snapshot is not SQLite")
	}
	for _, tb := range tables {
		if tb.Name == "schema_migrations" {
			continue
		}
		if got := tableRows(t, back.db, tb); !slices.Equal(got, now[tb.Name]) {
			t.Errorf("%s differs in the snapshot:\nPostgres %q\nSQLite   %q", tb.Name, now[tb.Name], got)
		}
	}
	again = back.newClient()
	again.hc.Jar.SetCookies(mustURL(back.URL), danCookies)
	wantBody(t, again.get(newTeam+"/projects"), "Dan&#39;s")
	eve := back.newClient()
	eve.signupVerified("eve@example.com")
	if id := back.userID("eve@example.com"); id <= back.userID("dan@example.com") {
		t.Fatalf("a signup on the snapshot got id %d, not above dan's", id)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// tableRows renders every row of a table the same way for both engines,
// sorted: times in UTC to the microsecond (Postgres' precision), bytes in
// hex, the session store's expiry (a Julian day in SQLite) to the second.
func tableRows(t *testing.T, d *db.DB, tb db.Table) []string {
	t.Helper()
	rows, err := d.Read.Query(`SELECT ` + strings.Join(tb.Columns, ", ") + ` FROM ` + tb.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, len(tb.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			switch v := v.(type) {
			case time.Time:
				v = v.UTC().Truncate(time.Microsecond)
				if tb.Name == "sessions" {
					v = v.Round(time.Second)
				}
				b.WriteString(v.Format(time.RFC3339Nano))
			case float64:
				if tb.Name == "sessions" && tb.Columns[i] == "expiry" {
					b.WriteString(time.UnixMilli(int64((v - 2440587.5) * 86400000)).UTC().Round(time.Second).Format(time.RFC3339Nano))
				} else {
					fmt.Fprint(&b, v)
				}
			case []byte:
				fmt.Fprintf(&b, "%x", v)
			default:
				fmt.Fprint(&b, v)
			}
			b.WriteString("|")
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
