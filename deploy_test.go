package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdUnits checks deploy/skiff.service and deploy/skiff.socket with
// systemd's own parser (systemd-analyze verify, the binary path pointed at a
// real file) and that the three deploy files agree on the port: the socket
// holds it, the unit needs the socket, and Caddy proxies to it.
func TestSystemdUnits(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	service, socket, caddyfile := read("skiff.service"), read("skiff.socket"), read("Caddyfile")

	listen := regexp.MustCompile(`(?m)^ListenStream=(\S+)$`).FindAllStringSubmatch(socket, -1)
	if len(listen) != 1 {
		t.Fatalf("skiff.socket has %d ListenStream= lines; skiff serves exactly one", len(listen))
	}
	addr := listen[0][1]
	if !strings.Contains(caddyfile, "reverse_proxy "+addr+" {") {
		t.Errorf("the Caddyfile does not proxy to the socket's %s", addr)
	}
	for _, line := range []string{"Requires=skiff.socket", "After=skiff.socket", "Environment=ADDR=" + addr} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(service) {
			t.Errorf("skiff.service lacks %q", line)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: the units' syntax is not checked")
	}
	dir := t.TempDir()
	bin, err := os.Executable() // any executable file stands in for /usr/local/bin/skiff
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "skiff.service"), []byte(strings.ReplaceAll(service, "/usr/local/bin/skiff", bin)), 0o644)
	os.WriteFile(filepath.Join(dir, "skiff.socket"), []byte(socket), 0o644)
	out, err := exec.Command(analyze, "verify", filepath.Join(dir, "skiff.socket"), filepath.Join(dir, "skiff.service")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
