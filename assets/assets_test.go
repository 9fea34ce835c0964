package assets

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHashedAssets(t *testing.T) {
	h := Handler()
	url := URL("app.css")
	if !strings.HasPrefix(url, "/static/app.") || !strings.HasSuffix(url, ".css") || url == "/static/app.css" {
		t.Fatalf("URL(app.css) = %q, want a content-hashed name", url)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" ||
		rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || rec.Header().Get("Content-Encoding") != "" {
		t.Fatalf("GET %s: %d %v", url, rec.Code, rec.Header())
	}
	plain := rec.Body.Bytes()

	// gzip when asked, with the same content.
	req := httptest.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatal("no gzip for a client that accepts it")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain) {
		t.Fatal("gzipped body differs")
	}

	// A revalidation with the ETag gets 304.
	req = httptest.NewRequest("GET", url, nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", rec.Code)
	}

	for _, bad := range []string{"/static/app.css", "/static/app.0000000000.css", "/static/../assets.go", "/static/"} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", bad, nil))
		if rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", bad, rec.Code)
		}
	}
}

func TestURLPanicsOnTypos(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("URL of a missing file did not panic")
		}
	}()
	URL("no-such-file.css")
}
