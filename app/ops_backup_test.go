package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsRefuseAMissingDatabase: `skiff backup` (and the Stripe
// commands) run without the service's DATABASE_PATH must not create an
// empty database and report a good backup of it.
func TestCommandsRefuseAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "data", "skiff.db")
	env := map[string]string{"DATABASE_PATH": missing}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{
		{"backup", filepath.Join(dir, "backup.db")},
		{"stripe-sync"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), args, getenv, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "no database at "+missing) {
			t.Fatalf("%v: %v (%s)", args, err, out.String())
		}
		if strings.Contains(out.String(), "integrity check ok") {
			t.Fatalf("%v reported a backup", args)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, missing)
		}
		if _, err := os.Stat(filepath.Join(dir, "backup.db")); !os.IsNotExist(err) {
			t.Fatalf("%v wrote a backup", args)
		}
	}
}
