package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// No Docker engine runs on the build machines, so the image is checked the
// nearest way: deploy/Dockerfile's last stage is read (user, environment,
// entry point, health check, stop signal, the data folder's owner), and its
// entry point runs as the image would run it: the static binary alone in a
// root of its own (chroot, as in the distroless image), as uid 65532, with
// the image's environment plus an env file read as `docker run --env-file`
// reads it, against a fresh data folder as a new named volume gets it.

// dockerImage is what the Dockerfile's last stage sets.
type dockerImage struct {
	env                          map[string]string
	user, volume, stopSignal     string
	entrypoint, cmd, healthcheck []string
	dataChown                    string // --chown of the COPY into /data
	buildVersionArg              bool
}

func readDockerfile(t *testing.T) dockerImage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	img := dockerImage{env: map[string]string{}}
	img.buildVersionArg = strings.Contains(text, "\nARG VERSION=") && strings.Contains(text, "-X skiff/app.Version=${VERSION}")
	last := text[strings.LastIndex(text, "\nFROM "):]
	array := func(s string) []string {
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("not an exec-form array: %s", s)
		}
		return v
	}
	for _, line := range strings.Split(last, "\n") {
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				img.env[k] = v
			}
		case "USER":
			img.user = rest
		case "VOLUME":
			img.volume = rest
		case "STOPSIGNAL":
			img.stopSignal = rest
		case "ENTRYPOINT":
			img.entrypoint = array(rest)
		case "CMD":
			img.cmd = array(rest)
		case "HEALTHCHECK":
			img.healthcheck = array(rest[strings.Index(rest, "CMD ")+4:])
		case "COPY":
			if strings.HasSuffix(rest, " /data") {
				for _, f := range strings.Fields(rest) {
					if v, ok := strings.CutPrefix(f, "--chown="); ok {
						img.dataChown = v
					}
				}
			}
		}
	}
	return img
}

// dockerEnvFile reads an env file as `docker run --env-file` does: KEY=VALUE
// per line, the value taken literally (quotes and " #" included).
func dockerEnvFile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			t.Fatalf("%s: %q takes its value from the host's environment; the examples must not", path, line)
		}
		env = append(env, line)
	}
	return env
}

func TestContainerImage(t *testing.T) {
	img := readDockerfile(t)
	want := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Dockerfile %s: %v, want %v", what, got, want)
		}
	}
	want("USER", img.user, "65532:65532")
	want("VOLUME", img.volume, "/data")
	want("data folder owner", img.dataChown, "65532:65532")
	want("STOPSIGNAL", img.stopSignal, "SIGTERM")
	want("ENTRYPOINT", img.entrypoint, []string{"/skiff"})
	want("CMD", img.cmd, []string{"serve"})
	want("HEALTHCHECK", img.healthcheck, []string{"/skiff", "healthcheck"})
	want("APP_ENV", img.env["APP_ENV"], "production")
	want("DATABASE_PATH", img.env["DATABASE_PATH"], "/data/skiff.db")
	if !img.buildVersionArg {
		t.Error("the Dockerfile does not stamp the version (ARG VERSION, -X skiff/app.Version=${VERSION})")
	}
	ignore, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal("no .dockerignore: .git, .env and data/ would enter the build context")
	}
	for _, entry := range []string{".git", ".env", "*.env", "data/", "*.db"} {
		if !strings.Contains("\n"+string(ignore)+"\n", "\n"+entry+"\n") {
			t.Errorf(".dockerignore lacks %s", entry)
		}
	}

	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("running the entry point as uid 65532 in a root of its own needs root")
	}
	root, port := imageRoot(t)
	run := func(args []string, extra ...string) *exec.Cmd {
		env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/nonroot"}
		for k, v := range img.env {
			env = append(env, k+"="+v)
		}
		// Instead of -p: the image's port may be taken on this machine.
		env = append(append(env, extra...), "ADDR=0.0.0.0:"+port)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = "/"
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		return cmd
	}
	entry := append(img.entrypoint, img.cmd...)

	t.Run(".env.example as the env file: production, refused until configured", func(t *testing.T) {
		out, err := run(entry, dockerEnvFile(t, ".env.example")...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "BASE_URL must use https:// when APP_ENV=production") {
			t.Fatalf("want a refusal naming BASE_URL; got %v:\n%s", err, out)
		}
	})

	t.Run("deploy/skiff.env.example as the env file: serves, healthy, stops cleanly", func(t *testing.T) {
		env := append(dockerEnvFile(t, filepath.Join("deploy", "skiff.env.example")), "BACKUP_DIR=/data/backups")
		cmd := run(entry, env...)
		var logs lockedBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill() })
		healthy := func() (string, error) {
			var out bytes.Buffer
			hc := run(img.healthcheck, env...)
			hc.Stdout, hc.Stderr = &out, &out
			err := hc.Run()
			return out.String(), err
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if out, err := healthy(); err == nil && strings.TrimSpace(out) == "ready" {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("HEALTHCHECK never passed: %v %s\n%s", err, out, logs.String())
			}
		}
		res, err := http.Get("http://127.0.0.1:" + port + "/readyz")
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("/readyz from outside: %v %v", res, err)
		}
		res.Body.Close()
		if !strings.Contains(logs.String(), `"version":"v9.9.9-image"`) || !strings.Contains(logs.String(), `"env":"production"`) {
			t.Errorf("the start-up line lacks the stamped version or production:\n%s", logs.String())
		}
		st, err := os.Stat(filepath.Join(root, "data", "skiff.db"))
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65532 || st.Mode().Perm() != 0o600 {
			t.Errorf("skiff.db: uid %d, mode %v; want 65532, 0600", sys.Uid, st.Mode().Perm())
		}

		cmd.Process.Signal(syscall.SIGTERM) // STOPSIGNAL
		select {
		case err := <-exited:
			if err != nil || !strings.Contains(logs.String(), `"msg":"stopped"`) {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no exit 30 s after SIGTERM")
		}
		if out, err := healthy(); err == nil {
			t.Fatalf("HEALTHCHECK passed with the server stopped: %s", out)
		}
	})
}

// imageRoot builds a root folder like the image's: the static binary built as
// the Dockerfile builds it at /skiff, /data owned by 65532 with mode 0700 (as
// the COPY --chown makes it), and /tmp. It returns the folder and a free port.
func imageRoot(t *testing.T) (root, port string) {
	t.Helper()
	root, err := os.MkdirTemp("", "skiff-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chmod(root, 0o755)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X skiff/app.Version=v9.9.9-image", "-o", filepath.Join(root, "skiff"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for dir, mode := range map[string]os.FileMode{"data": 0o700, "tmp": 0o777 | os.ModeSticky} {
		if err := os.Mkdir(filepath.Join(root, dir), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(root, dir), mode) // past the umask
	}
	if err := os.Chown(filepath.Join(root, "data"), 65532, 65532); err != nil {
		t.Fatal(err)
	}
	_, port, _ = strings.Cut(freeAddr(t), ":")
	return root, port
}
