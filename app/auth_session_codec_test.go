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

// TestSessionCodecMemo: the memo answers by content and hands out copies, so
// scs changing one request's values (Put, Remove) cannot leak into another.
func TestSessionCodecMemo(t *testing.T) {
	c := sessionCodec{memo: &decodeMemo{}}
	deadline := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	ada, _ := c.Encode(deadline, map[string]any{"user_id": int64(1)})
	bob, _ := c.Encode(deadline, map[string]any{"user_id": int64(2)})
	for range 2 { // the second round is answered from the memo
		_, first, err := c.Decode(ada)
		if err != nil || first["user_id"] != int64(1) {
			t.Fatalf("ada: %v, %v", first, err)
		}
		first["user_id"] = int64(99) // as scs's Put would
		delete(first, "user_id")
		if _, again, _ := c.Decode(ada); again["user_id"] != int64(1) {
			t.Fatalf("a change to a decoded map leaked into the memo: %v", again)
		}
		if _, other, _ := c.Decode(bob); other["user_id"] != int64(2) {
			t.Fatalf("bob: %v", other)
		}
	}
	if _, _, err := c.Decode([]byte(`{"v":{"x":{"t":"?","v":1}}}`)); err == nil {
		t.Fatal("an unknown tag was accepted")
	}
	// A two-factor enrolment's secret is not remembered.
	enrol, _ := c.Encode(deadline, map[string]any{sessionTOTPPending: "otpauth://totp/x?secret=ABC"})
	if _, v, err := c.Decode(enrol); err != nil || v[sessionTOTPPending] == nil {
		t.Fatalf("enrolment: %v, %v", v, err)
	}
	if _, kept := c.memo.m[string(enrol)]; kept || len(c.memo.m) != 2 {
		t.Fatalf("memo holds %d sessions (want ada and bob), enrolment kept: %v", len(c.memo.m), kept)
	}
}

func BenchmarkSessionCodecDecode(b *testing.B) {
	data, _ := sessionCodec{}.Encode(time.Now(), map[string]any{"user_id": int64(42), "auth_epoch": int64(3), "__rememberMe": true})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sessionCodec{}.Decode(data)
		}
	})
	b.Run("memo", func(b *testing.B) {
		c := sessionCodec{memo: &decodeMemo{}}
		b.ReportAllocs()
		for b.Loop() {
			c.Decode(data)
		}
	})
}
