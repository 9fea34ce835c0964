package app

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Socket activation is taken only from systemd's variables meant for this
// process, and a unit that passes more than one socket is refused by name.
// (The restart itself, with a real inherited socket, is TestRestartLosesNoRequest
// in the main package.)
func TestSocketActivationVariables(t *testing.T) {
	load := func(pid, fds string) Config {
		t.Helper()
		cfg, err := LoadConfig(envOf(map[string]string{"LISTEN_PID": pid, "LISTEN_FDS": fds}))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	me := strconv.Itoa(os.Getpid())
	if got := load(me, "1").ListenFDs; got != 1 {
		t.Fatalf("LISTEN_PID of this process: ListenFDs %d, want 1", got)
	}
	for _, pid := range []string{"", "1", strconv.Itoa(os.Getpid() + 1), "x"} {
		if got := load(pid, "1").ListenFDs; got != 0 {
			t.Errorf("LISTEN_PID=%q (another process's sockets): ListenFDs %d, want 0", pid, got)
		}
	}
	_, _, err := listen(load(me, "2"))
	if err == nil || !strings.Contains(err.Error(), "ListenStream") {
		t.Fatalf("two sockets: %v, want a refusal naming ListenStream", err)
	}
}
