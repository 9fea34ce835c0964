// Command rename makes a fresh fork of Skiff your own product, run by
// `make rename MODULE=github.com/acme/app NAME=Acme`. It changes:
//
//   - the Go module path: go.mod, every import of skiff/... in the .go and
//     .templ files, and the "-X skiff/app.Version" of the Makefile and tests;
//   - the product's name: every whole word "Skiff" in the .go and .templ files
//     (views/product.go's ProductName, the pages, the mails' sentences, the
//     messages, the tests that read them) and .env.example (MAIL_FROM's
//     default), and the README's title;
//   - the name in lower case, letters and digits only (acme): the API token
//     prefix skiff_ (so secret scanners tell your tokens from Skiff's), the
//     API's realm="skiff", and the downloads' file names (skiff-export.json,
//     skiff-recovery-codes.txt).
//
// It leaves the command's name alone: the binary stays `skiff`, its database
// data/skiff.db, and the deploy files (deploy/skiff.service, /etc/skiff,
// /var/lib/skiff, the image) keep their names. Those are paths on servers
// rather than words visitors read; renaming them is a search and replace
// best done by hand, once, before the first deploy.
//
// It works on a tree still named Skiff, computes every change before writing
// any, and refuses a tree renamed before (unless to the same names, which it
// reports as done). A renamed tree builds and its tests pass.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The names of the template, as a fresh fork has them.
const (
	oldModule = "skiff"
	oldName   = "Skiff"
	oldSlug   = "skiff"
)

// self is this program's folder, which keeps the old names it looks for.
const self = "tools/rename"

func main() {
	module := flag.String("module", "", "the new Go module path, e.g. github.com/acme/app")
	name := flag.String("name", "", "the product's name as visitors read it, e.g. Acme")
	dir := flag.String("dir", ".", "the root of the tree to rename")
	flag.Parse()
	changed, err := rename(*dir, *module, *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
	if len(changed) == 0 {
		fmt.Printf("already renamed to %s (%s): nothing to do\n", *module, *name)
		return
	}
	fmt.Printf("renamed to module %s, product %q, token prefix %s_: %d files changed (git diff shows them)\n",
		*module, *name, slug(*name), len(changed))
	fmt.Println("still yours to do: views/home.templ, views/legal.templ, the icons in assets/static/, the README")
}

// rename renames the tree at root and returns the files it changed.
func rename(root, module, name string) ([]string, error) {
	if err := checkModule(root, module); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	current, err := currentNames(root)
	if err != nil {
		return nil, err
	}
	switch {
	case current == [2]string{module, name}:
		return nil, nil
	case current != [2]string{oldModule, oldName}:
		return nil, fmt.Errorf("this tree was renamed before (module %s, product %q): rename works once, on a fresh fork; change the rest by hand",
			current[0], current[1])
	}
	r := renamer{module: module, name: name, slug: slug(name)}
	edits, err := r.plan(root)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, path := range slices.Sorted(maps.Keys(edits)) {
		if err := writeKeepingMode(filepath.Join(root, path), edits[path]); err != nil {
			return changed, err
		}
		changed = append(changed, path)
	}
	return changed, nil
}

// checkModule refuses anything but a module path the go command accepts, and
// one that would be mistaken for the standard library.
func checkModule(root, module string) error {
	if module == "" {
		return errors.New("MODULE is empty: give the new module path, e.g. MODULE=github.com/acme/app")
	}
	cmd := exec.Command("go", "mod", "edit", "-print", "-module="+module)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "go: "))
		return fmt.Errorf("MODULE %q is not a valid Go module path (%s); use one such as github.com/acme/app", module, msg)
	}
	first, _, _ := strings.Cut(module, "/")
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "src", first)); err == nil && st.IsDir() {
		return fmt.Errorf("MODULE %q starts with %q, a package of Go's standard library; use one such as github.com/acme/app", module, first)
	}
	return nil
}

// checkName refuses a name that would need escaping in Go strings, HTML or a
// mail header, or that has no letter or digit for the lower-case form.
func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("NAME is empty: give the product's name as visitors read it, e.g. NAME=Acme")
	}
	if strings.Join(strings.Fields(name), " ") != name || utf8.RuneCountInString(name) > 40 {
		return fmt.Errorf("NAME %q must be at most 40 characters, words separated by single spaces, none around them", name)
	}
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(" -.", c) {
			return fmt.Errorf("NAME %q may hold letters, digits, spaces, hyphens and dots only (it is written as it is into Go strings, HTML and mail headers)", name)
		}
	}
	if slug(name) == "" {
		return fmt.Errorf("NAME %q needs a letter a-z or a digit: its lower-case form makes the API token prefix (acme_)", name)
	}
	return nil
}

// slug is name in lower case, ASCII letters and digits only: "Acme Cloud" is acmecloud.
func slug(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// currentNames reads the tree's module path from go.mod and its product name
// from views/product.go.
func currentNames(root string) ([2]string, error) {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return [2]string{}, err
	}
	m := moduleLine.FindSubmatch(mod)
	if m == nil {
		return [2]string{}, errors.New("go.mod has no module line")
	}
	product, err := os.ReadFile(filepath.Join(root, "views/product.go"))
	if err != nil {
		return [2]string{}, err
	}
	p := productName.FindSubmatch(product)
	if p == nil {
		return [2]string{}, errors.New(`views/product.go has no line ProductName = "..."`)
	}
	name, err := strconv.Unquote(string(p[1]))
	return [2]string{string(m[1]), name}, err
}

var (
	moduleLine  = regexp.MustCompile(`(?m)^module[ \t]+(\S+)[ \t]*$`)
	productName = regexp.MustCompile(`(?m)^\s*(?:const\s+)?ProductName\s*=\s*("[^"\n]*")`)
	// templImport is a quoted import path of skiff at the start of a line of
	// a .templ file: `import "skiff/db"`, or a line of an import block.
	templImport = regexp.MustCompile(`(?m)^(\s*(?:import\s+)?(?:[A-Za-z_]\w*\s+)?)"` + oldModule + `((?:/[^"\s]*)?)"`)
	wordName    = regexp.MustCompile(`\b` + oldName + `\b`)
	tokenPrefix = regexp.MustCompile(`(^|[^A-Za-z0-9_])` + oldSlug + `_`)
)

// renamer computes the new contents of the tree's files.
type renamer struct {
	module, name, slug string
}

// plan walks the tree and returns the new contents of every file that
// changes, by path relative to root. It writes nothing.
func (r renamer) plan(root string) (map[string][]byte, error) {
	edits := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skipDir(rel, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, err := r.file(rel, old)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if !bytes.Equal(out, old) {
			edits[rel] = out
		}
		return nil
	})
	return edits, err
}

// skipDir reports whether a folder holds nothing to rename: this program,
// hidden folders (.git, .ci), test data, and what make build and make run
// write (bin, data).
func skipDir(rel, name string) bool {
	return rel == self || rel == "bin" || rel == "data" || strings.HasPrefix(name, ".") ||
		name == "testdata" || name == "vendor" || name == "node_modules"
}

// file returns the renamed contents of the file at rel.
func (r renamer) file(rel string, src []byte) ([]byte, error) {
	switch base := filepath.Base(rel); {
	case rel == "go.mod":
		return moduleLine.ReplaceAll(src, []byte("module "+r.module)), nil
	case rel == "Makefile":
		return r.ldflags(src), nil
	case rel == ".env.example":
		return r.words(src), nil
	case rel == "README.md":
		return bytes.Replace(src, []byte("# "+oldName+"\n"), []byte("# "+r.name+"\n"), 1), nil
	case strings.HasSuffix(base, ".templ"):
		src = templImport.ReplaceAll(src, []byte(`${1}"`+r.module+`${2}"`))
		return r.text(src), nil
	case strings.HasSuffix(base, ".go"):
		out, err := r.imports(src)
		if err != nil {
			return nil, err
		}
		if out = r.text(out); bytes.Equal(out, src) {
			return src, nil
		}
		return format.Source(out) // as gofmt would: a renamed import may sort elsewhere in its group
	}
	return src, nil
}

// text renames the product, the token prefix, the realm, the names of
// downloaded files and the module in -X flags of a .go or .templ file.
func (r renamer) text(src []byte) []byte {
	src = r.ldflags(r.words(src))
	src = tokenPrefix.ReplaceAll(src, []byte("${1}"+r.slug+"_"))
	src = bytes.ReplaceAll(src, []byte(`filename="`+oldSlug+`-`), []byte(`filename="`+r.slug+`-`))
	return bytes.ReplaceAll(src, []byte(`realm="`+oldSlug+`"`), []byte(`realm="`+r.slug+`"`))
}

// words replaces every whole word Skiff with the new name.
func (r renamer) words(src []byte) []byte {
	return wordName.ReplaceAllLiteral(src, []byte(r.name))
}

// ldflags renames the module in "-X skiff/app.Version".
func (r renamer) ldflags(src []byte) []byte {
	return bytes.ReplaceAll(src, []byte("-X "+oldModule+"/"), []byte("-X "+r.module+"/"))
}

// imports rewrites the Go file's imports of the old module, leaving every
// other byte as it is.
func (r renamer) imports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(src)
	for i := len(f.Imports) - 1; i >= 0; i-- { // from the end, so offsets hold
		lit := f.Imports[i].Path
		path, _ := strconv.Unquote(lit.Value)
		if path != oldModule && !strings.HasPrefix(path, oldModule+"/") {
			continue
		}
		start, end := fset.Position(lit.Pos()).Offset, fset.Position(lit.End()).Offset
		out = slices.Concat(out[:start], []byte(strconv.Quote(r.module+strings.TrimPrefix(path, oldModule))), out[end:])
	}
	return out, nil
}

// writeKeepingMode replaces the file's contents, keeping its permissions.
func writeKeepingMode(path string, b []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, st.Mode().Perm())
}
