// Command withpostgres runs a command beside a throw-away PostgreSQL server:
// it makes a new cluster in a temporary folder (initdb), starts it on a free
// port of 127.0.0.1, runs the command with SKIFF_TEST_POSTGRES set to its
// URL (and DATABASE_URL too, with -database-url), then stops the server and
// deletes the folder.
//
//	go run ./tools/withpostgres -- go test ./...                  (what make test-postgres runs)
//	go run ./tools/withpostgres -database-url -- go run . serve   (try Skiff on Postgres)
//
// The tests make a database of their own on it for each test (db/dbtest).
//
// It needs PostgreSQL's programs (Debian: apt install postgresql), found on
// PATH or in /usr/lib/postgresql/*/bin. Without them it says so and exits 0,
// so `make test-postgres` passes on a machine with only Go; with
// SKIFF_POSTGRES=required (CI) it fails instead. initdb refuses to run as
// root: as root the cluster belongs to the postgres user.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

func main() {
	databaseURL := flag.Bool("database-url", false, "set DATABASE_URL to the server's postgres database as well")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: withpostgres [-database-url] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	bin, err := findBin()
	if err != nil {
		if os.Getenv("SKIFF_POSTGRES") == "required" {
			fmt.Fprintln(os.Stderr, "withpostgres:", err, "(SKIFF_POSTGRES=required)")
			os.Exit(1)
		}
		fmt.Println("--- skipped: the PostgreSQL run needs PostgreSQL's programs:", err)
		return
	}
	code, err := run(bin, args, *databaseURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withpostgres:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// findBin returns the folder that holds initdb and pg_ctl.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb is neither on PATH nor in /usr/lib/postgresql/*/bin (Debian: apt install postgresql)")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func run(bin string, args []string, databaseURL bool) (int, error) {
	dir, err := os.MkdirTemp("", "skiff-postgres-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return 0, err
	}
	// As root, the cluster's files and processes belong to postgres.
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return 0, fmt.Errorf("running as root, and there is no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return 0, err
		}
		if err := os.Chown(data, uid, gid); err != nil {
			return 0, err
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	pg := func(name string, arg ...string) *exec.Cmd {
		full := append(append(asUser[:len(asUser):len(asUser)], filepath.Join(bin, name)), arg...)
		cmd := exec.Command(full[0], full[1:]...)
		cmd.Dir = dir // a folder the postgres user may enter
		cmd.Stderr = os.Stderr
		return cmd
	}
	initdb := pg("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
	if out, err := initdb.Output(); err != nil {
		return 0, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	// fsync off: a throw-away cluster need not survive a power cut, and
	// the tests create and drop a database each.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400", port, dir)
	start := pg("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "start")
	if out, err := start.Output(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return 0, fmt.Errorf("pg_ctl start: %w\n%s%s", err, out, log)
	}
	stop := func() {
		pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Output()
	}
	defer stop()
	// Ctrl-C stops the command, then the server.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)

	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	fmt.Printf("--- PostgreSQL (%s) at %s\n", filepath.Base(filepath.Dir(bin)), url)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "SKIFF_TEST_POSTGRES="+url)
	if databaseURL {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+url)
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case s := <-sig:
		cmd.Process.Signal(s)
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			err = <-done
		}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
