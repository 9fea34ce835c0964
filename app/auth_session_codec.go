package app

import (
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"time"
)

// sessionCodec stores session data as small JSON. scs's default gob codec
// builds a decoder per request, a quarter of an authenticated page's time;
// this one is several times faster. Values keep their Go type through a tag,
// so GetInt64 still finds an int64. Only the types Skiff stores are allowed:
// an unexpected type fails loudly at Put time, not silently later.
//
// A session's data only changes when it is written, yet it is decoded on
// every request: with memo set, Decode remembers what it decoded, keyed by
// the bytes themselves, so it can never return another session's values.
type sessionCodec struct {
	memo *decodeMemo
}

// decodeMemo maps encoded session data to its decoded values.
type decodeMemo struct {
	mu sync.Mutex
	m  map[string]decodedSession
}

type decodedSession struct {
	deadline time.Time
	values   map[string]any
}

// maxDecoded bounds the memo; past it, it starts again empty.
const maxDecoded = 10_000

type sessionJSON struct {
	Deadline time.Time                 `json:"d"`
	Values   map[string]sessionJSONVal `json:"v"`
}

type sessionJSONVal struct {
	T string          `json:"t"` // i int64, s string, b bool, t time
	V json.RawMessage `json:"v"`
}

// Encode implements scs.Codec.
func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	out := sessionJSON{Deadline: deadline, Values: make(map[string]sessionJSONVal, len(values))}
	for k, v := range values {
		var tag string
		switch v.(type) {
		case int64:
			tag = "i"
		case string:
			tag = "s"
		case bool:
			tag = "b"
		case time.Time:
			tag = "t"
		default:
			return nil, fmt.Errorf("session: cannot store %T under %q", v, k)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out.Values[k] = sessionJSONVal{T: tag, V: raw}
	}
	return json.Marshal(out)
}

// Decode implements scs.Codec. scs changes the map it gets (Put, Remove), so
// the memo hands out copies.
func (c sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if c.memo == nil {
		return decodeSession(b)
	}
	c.memo.mu.Lock()
	d, ok := c.memo.m[string(b)]
	c.memo.mu.Unlock()
	if ok {
		return d.deadline, maps.Clone(d.values), nil
	}
	deadline, values, err := decodeSession(b)
	if err != nil {
		return deadline, values, err
	}
	if _, ok := values[sessionTOTPPending]; ok {
		// A two-factor enrolment's secret is not kept in memory longer than
		// the request needs it.
		return deadline, values, nil
	}
	c.memo.mu.Lock()
	if c.memo.m == nil || len(c.memo.m) >= maxDecoded {
		c.memo.m = map[string]decodedSession{}
	}
	c.memo.m[string(b)] = decodedSession{deadline, maps.Clone(values)}
	c.memo.mu.Unlock()
	return deadline, values, nil
}

func decodeSession(b []byte) (time.Time, map[string]any, error) {
	var in sessionJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return time.Time{}, nil, err
	}
	values := make(map[string]any, len(in.Values))
	for k, tv := range in.Values {
		var err error
		switch tv.T {
		case "i":
			var v int64
			err = json.Unmarshal(tv.V, &v)
			values[k] = v
		case "s":
			var v string
			err = json.Unmarshal(tv.V, &v)
			values[k] = v
		case "b":
			var v bool
			err = json.Unmarshal(tv.V, &v)
			values[k] = v
		case "t":
			var v time.Time
			err = json.Unmarshal(tv.V, &v)
			values[k] = v
		default:
			err = fmt.Errorf("session: unknown value type %q", tv.T)
		}
		if err != nil {
			return time.Time{}, nil, err
		}
	}
	return in.Deadline, values, nil
}
