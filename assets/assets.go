// Package assets embeds the static files (CSS, script, images) and serves them under
// content-hashed URLs, so browsers may cache them for a year and still see a
// change the moment a file changes.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

type file struct {
	name        string // logical name, e.g. "app.css"
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
	etag        string
}

type catalog struct {
	byURLName map[string]*file  // "app.3f2a1b9c0d.css" -> file
	urlOf     map[string]string // "app.css" -> "/static/app.3f2a1b9c0d.css"
}

// load reads every embedded file once, on first use.
var load = sync.OnceValue(func() catalog {
	c := catalog{byURLName: map[string]*file{}, urlOf: map[string]string{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:5])
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		f := &file{name: name, body: body, contentType: mime.TypeByExtension(ext), etag: `"` + hash + `"`}
		if f.contentType == "" {
			f.contentType = "application/octet-stream"
		}
		if compressible(f.contentType) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body)*9/10 {
				f.gzipped = buf.Bytes()
			}
		}
		c.byURLName[hashed] = f
		c.urlOf[name] = Prefix + hashed
		return nil
	})
	if err != nil {
		panic("assets: " + err.Error()) // the files are compiled in; this cannot fail at run time
	}
	return c
})

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "javascript") ||
		strings.Contains(contentType, "json") || strings.Contains(contentType, "svg")
}

// URL returns the content-hashed URL of the named asset, e.g.
// URL("app.css") == "/static/app.3f2a1b9c0d.css". It panics on a name that
// does not exist, so a typo in a template fails the first test that renders it.
func URL(name string) string {
	u, ok := load().urlOf[name]
	if !ok {
		panic("assets: no such file: " + name)
	}
	return u
}

// Handler serves GET /static/{file}: hashed names with a one-year immutable
// cache, gzip when the client accepts it, and 404 for anything else.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := load().byURLName[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serve(w, r, f, "public, max-age=31536000, immutable")
	})
}

// Unhashed serves the named asset at a fixed address that browsers and
// crawlers ask for by name (/favicon.ico, /robots.txt). The address does not
// change with the file, so it is cached for a day only. It panics on a name
// that does not exist, as URL does.
func Unhashed(name string) http.Handler {
	u := URL(name)
	f := load().byURLName[strings.TrimPrefix(u, Prefix)]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, f, "public, max-age=86400")
	})
}

func serve(w http.ResponseWriter, r *http.Request, f *file, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gzipped != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, enc := range strings.Split(v, ",") {
			enc, q, _ := strings.Cut(strings.TrimSpace(enc), ";")
			if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}
