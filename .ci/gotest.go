// Command gotest is `make test`: it runs `go test -json` with the arguments
// it is given and prints what a person needs: a line per package, the whole
// output of each failing test, and at the end every skipped test with its
// reason (a missing Chromium or stripe-mock skips a test quietly otherwise).
// It exits with go test's own status.
//
//	go run .ci/gotest.go -race -count=1 ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type skipped struct{ name, reason string }

func main() {
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	outputs := map[string][]string{} // package + test -> its output so far
	var skips []skipped
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Println(sc.Text())
			continue
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Print(e.Output)
		case e.Test == "" && e.Action == "output":
			if e.Output != "PASS\n" {
				fmt.Print(e.Output) // "ok  skiff/app 61.2s", "FAIL ...", "?  skiff [no test files]"
			}
		case e.Action == "output":
			outputs[key] = append(outputs[key], e.Output)
		case e.Action == "fail":
			fmt.Print(strings.Join(outputs[key], ""))
			delete(outputs, key)
		case e.Action == "skip" && e.Test != "": // a package skips when it has no test files
			skips = append(skips, skipped{name: e.Package + " " + e.Test, reason: skipReason(outputs[key])})
			delete(outputs, key)
		case e.Action == "pass":
			delete(outputs, key)
		}
	}
	err = cmd.Wait()

	if len(skips) == 0 {
		fmt.Println("\nNo test was skipped.")
	} else {
		fmt.Printf("\n%d skipped:\n", len(skips))
		for _, s := range skips {
			fmt.Printf("  %s: %s\n", s.name, s.reason)
		}
	}
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// skipReason is the last line a skipped test wrote before "--- SKIP": the
// message it gave t.Skip.
func skipReason(lines []string) string {
	reason := "(no reason given)"
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		reason = l
	}
	return reason
}
