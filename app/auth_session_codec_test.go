package app

import (
	"testing"
	"time"
)

func TestSessionCodecRoundTrip(t *testing.T) {
	deadline := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	in := map[string]any{"user_id": int64(42), "flash": "hi", "__rememberMe": true, "at": deadline}
	b, err := sessionCodec{}.Encode(deadline, in)
	if err != nil {
		t.Fatal(err)
	}
	d, out, err := sessionCodec{}.Decode(b)
	if err != nil || !d.Equal(deadline) {
		t.Fatalf("deadline %v, err %v", d, err)
	}
	for k, v := range in {
		if got := out[k]; got != v && !(k == "at" && got.(time.Time).Equal(v.(time.Time))) {
			t.Errorf("%s: %#v, want %#v", k, got, v)
		}
	}
	if _, err := (sessionCodec{}).Encode(deadline, map[string]any{"x": 3.5}); err == nil {
		t.Fatal("a float was accepted")
	}
	if _, _, err := (sessionCodec{}).Decode([]byte(`{"v":{"x":{"t":"?","v":1}}}`)); err == nil {
		t.Fatal("an unknown tag was accepted")
	}
}

func BenchmarkSessionCodecDecode(b *testing.B) {
	data, _ := sessionCodec{}.Encode(time.Now(), map[string]any{"user_id": int64(42), "auth_epoch": int64(3), "__rememberMe": true})
	b.ReportAllocs()
	for b.Loop() {
		sessionCodec{}.Decode(data)
	}
}
