package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRenameACopy renames a copy of this tree (its tracked and new files, as
// they are now) and checks that the copy builds, passes vet and renders the
// new name, and that a second run changes nothing.
func TestRenameACopy(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the tree and builds it")
	}
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("needs git to list the tree's files:", err)
	}
	if names, err := currentNames(string(bytes.TrimSpace(root))); err != nil || names != [2]string{oldModule, oldName} {
		t.Skipf("this tree was renamed already (%q, %v): the test renames a fresh fork", names, err)
	}
	dir := copyOfTree(t, string(bytes.TrimSpace(root)))
	changed, err := rename(dir, "github.com/acme/app", "Acme Cloud")
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) < 50 {
		t.Errorf("only %d files changed: %v", len(changed), changed)
	}
	for path, want := range map[string][]string{
		"go.mod":                {"module github.com/acme/app\n"},
		"Makefile":              {"-X github.com/acme/app/app.Version"},
		"README.md":             {"# Acme Cloud\n"},
		".env.example":          {`# MAIL_FROM=Acme Cloud <no-reply@localhost>`},
		"views/product.go":      {`ProductName = "Acme Cloud"`},
		"app/api.go":            {`apiTokenPrefix = "acmecloud_"`, `realm="acmecloud"`, `"github.com/acme/app/db"`},
		"views/layout.templ":    {`"github.com/acme/app/assets"`},
		"app/mail_messages.go":  {"Welcome to Acme Cloud!"},
		"app/account_delete.go": {`filename="acmecloud-export.json"`},
	} {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
	leftover := regexp.MustCompile(`\bSkiff\b|"skiff/|\bskiff_|realm="skiff"|filename="skiff-`)
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() && rel != "." && skipDir(filepath.ToSlash(rel), d.Name()) {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".templ") {
			b, _ := os.ReadFile(path)
			if m := leftover.Find(b); m != nil {
				t.Errorf("%s still has %q", rel, m)
			}
		}
		return nil
	})

	if again, err := rename(dir, "github.com/acme/app", "Acme Cloud"); err != nil || len(again) > 0 {
		t.Errorf("a second run changed %v, err %v; want nothing", again, err)
	}
	if _, err := rename(dir, "github.com/other/app", "Other"); err == nil || !strings.Contains(err.Error(), "renamed before") {
		t.Errorf("renaming a renamed tree: err %v, want a refusal", err)
	}

	var goFiles []string
	for _, path := range changed {
		if strings.HasSuffix(path, ".go") {
			goFiles = append(goFiles, path)
		}
	}
	if unformatted := run(t, dir, "gofmt", append([]string{"-l"}, goFiles...)...); unformatted != "" {
		t.Errorf("gofmt -l lists:\n%s", unformatted)
	}
	run(t, dir, "go", "build", "./...")
	run(t, dir, "go", "vet", "./...")
	run(t, dir, "go", "test", "-count=1", "-run", "TestProductNameInPagesAndMails", "./views/")
	// CI regenerates the views and wants no difference: the renamed .templ
	// files and their generated Go must still agree.
	before := readAll(t, dir, "views/*_templ.go")
	run(t, dir, "go", "tool", "templ", "generate")
	for path, b := range readAll(t, dir, "views/*_templ.go") {
		if !bytes.Equal(b, before[path]) {
			t.Errorf("templ generate changed %s: the rename made it differ from its .templ", path)
		}
	}
}

// TestRenameRefusesBadInput: each refusal names the setting and writes nothing.
func TestRenameRefusesBadInput(t *testing.T) {
	dir := tinyTree(t)
	for _, tt := range []struct{ module, name, want string }{
		{"", "Acme", "MODULE is empty"},
		{"bad path", "Acme", "MODULE \"bad path\" is not a valid Go module path"},
		{"github.com/acme/app/", "Acme", "not a valid Go module path"},
		{"-x", "Acme", "not a valid Go module path"},
		{"net/acme", "Acme", "standard library"},
		{"github.com/acme/app", "", "NAME is empty"},
		{"github.com/acme/app", "  ", "NAME is empty"},
		{"github.com/acme/app", " Acme", "single spaces"},
		{"github.com/acme/app", "Acme  Cloud", "single spaces"},
		{"github.com/acme/app", `Acme "Cloud"`, "letters, digits"},
		{"github.com/acme/app", "Acme & Co", "letters, digits"},
		{"github.com/acme/app", "<b>Acme</b>", "letters, digits"},
		{"github.com/acme/app", "日本", "needs a letter a-z or a digit"},
		{"github.com/acme/app", strings.Repeat("A", 41), "at most 40"},
	} {
		if _, err := rename(dir, tt.module, tt.name); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("MODULE=%q NAME=%q: err %v, want %q", tt.module, tt.name, err, tt.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != "module skiff\n\ngo 1.26\n" {
		t.Errorf("go.mod changed:\n%s", b)
	}
}

// TestRenameTinyTree checks the edits on a small tree: imports renamed and
// sorted as gofmt would, other strings and the command's name left alone.
func TestRenameTinyTree(t *testing.T) {
	dir := tinyTree(t)
	if _, err := rename(dir, "example.com/acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != "module example.com/acme\n\ngo 1.26\n" {
		t.Errorf("go.mod:\n%s", b)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	want := `package main

import (
	"fmt"

	"example.com/acme/db"
	"github.com/zzz/x"
)

// main is Acme's, and the binary stays skiff: a SkiffLike name stays too.
func main() { fmt.Println("Acme", "skiff serve", "acme_token", "SKIFF_X", x.Y, db.Z) }
`
	if string(b) != want {
		t.Errorf("main.go:\n%s\nwant:\n%s", b, want)
	}
}

// tinyTree is a tree named skiff/Skiff with one Go file.
func tinyTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for path, body := range map[string]string{
		"go.mod":           "module skiff\n\ngo 1.26\n",
		"views/product.go": "package views\n\nconst ProductName = \"Skiff\"\n",
		"main.go": `package main

import (
	"fmt"

	"github.com/zzz/x"
	"skiff/db"
)

// main is Skiff's, and the binary stays skiff: a SkiffLike name stays too.
func main() { fmt.Println("Skiff", "skiff serve", "skiff_token", "SKIFF_X", x.Y, db.Z) }
`,
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, path), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyOfTree copies the repository's files (tracked, and new ones not
// ignored, as they are in the working tree) into a temporary folder.
func copyOfTree(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	files := run(t, root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, rel := range strings.Split(strings.TrimSuffix(files, "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the working tree, or not a plain file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readAll reads the files matching pattern under dir.
func readAll(t *testing.T, dir, pattern string) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, pattern))
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	if len(out) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	return out
}

// run runs a command in dir and returns its output; failing, it fails the test.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}
