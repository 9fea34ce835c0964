package app

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// argonParams are argon2id's cost settings. Memory is in KiB.
type argonParams struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// defaultArgon is OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
var defaultArgon = argonParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// passwordHasher hashes and verifies passwords with argon2id. A semaphore caps
// how many hashes run at once, so a flood of logins queues instead of
// allocating 19 MiB per request until the machine runs out of memory.
type passwordHasher struct {
	params argonParams
	sem    chan struct{}
	dummy  string // verified against for unknown emails, to spend the same time

	derivations atomic.Int64 // argon2id runs so far; tests use it to prove equal work
}

func newPasswordHasher(p argonParams) *passwordHasher {
	h := &passwordHasher{params: p, sem: make(chan struct{}, max(1, runtime.NumCPU()))}
	// A well-formed hash with the current parameters that no password
	// matches: verifying against it costs exactly what a real check costs.
	h.dummy = encodePHC(p, randomBytes(p.SaltLen), randomBytes(int(p.KeyLen)))
	return h
}

// errPasswordMismatch is returned by verify for a wrong password.
var errPasswordMismatch = errors.New("password does not match")

// hash returns the PHC string of password, in its NFKC form, with a fresh
// random salt.
func (h *passwordHasher) hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.SaltLen)
	key, err := h.derive(ctx, normalizePassword(password), salt, h.params)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// encodePHC is the PHC string of an argon2id key: what decodePHC reads.
func encodePHC(p argonParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verify compares password, in its NFKC form, with the PHC string encoded in
// constant time. It returns errPasswordMismatch for a wrong password, and
// rehash=true when the hash should be made again from this password: it was
// made with other parameters than the current ones, or it is an old hash.
//
// Hashes made before passwords were normalised are over the bytes as typed.
// When those differ from the NFKC form, they are tried too, and a match asks
// for a rehash, so the account moves to the NFKC hash at its next login. A
// wrong password of that kind costs two derivations whether or not the
// account exists (verifyDummy goes through here), so timing tells nothing.
func (h *passwordHasher) verify(ctx context.Context, password, encoded string) (rehash bool, err error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	normalized := normalizePassword(password)
	got, err := h.derive(ctx, normalized, salt, p)
	if err != nil {
		return false, err
	}
	if subtle.ConstantTimeCompare(got, want) == 1 {
		return p != h.params, nil
	}
	if password != normalized {
		got, err := h.derive(ctx, password, salt, p)
		if err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare(got, want) == 1 {
			return true, nil
		}
	}
	return false, errPasswordMismatch
}

// verifyDummy spends the time of one verification, so that a login for an
// unknown email takes as long as one with a wrong password. No password
// matches the dummy hash; the error it returns is another one (the request
// was canceled while waiting for its turn).
func (h *passwordHasher) verifyDummy(ctx context.Context, password string) error {
	_, err := h.verify(ctx, password, h.dummy)
	if errors.Is(err, errPasswordMismatch) {
		return nil
	}
	return err
}

func (h *passwordHasher) derive(ctx context.Context, password string, salt []byte, p argonParams) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	h.derivations.Add(1)
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// decodePHC parses "$argon2id$v=19$m=19456,t=2,p=1$salt$hash".
func decodePHC(encoded string) (p argonParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errors.New("password hash: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errors.New("password hash: bad parameters")
	}
	if p.Memory == 0 || p.Memory > 1<<21 || p.Time == 0 || p.Time > 100 || p.Threads == 0 {
		return p, nil, nil, errors.New("password hash: parameters out of range")
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errors.New("password hash: bad salt")
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errors.New("password hash: bad key")
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}

// Password length limits: NIST SP 800-63B asks for at least 8 characters and
// no composition rules. The minimum counts code points of the NFKC form (what
// a person sees as characters). The maximum counts bytes as received, and is
// checked before any other work, so that normalising and hashing cost stays
// bounded whatever arrives (NFKC makes a string at most 11 times longer in
// bytes, and argon2id reads the password only once, into its first digest).
const (
	minPasswordChars = 8
	maxPasswordBytes = 1024
)

// normalizePassword returns the form a password is checked and hashed in:
// NFKC, as NIST SP 800-63B 5.1.1.2 recommends, so the same password typed
// on another keyboard or system ("é" composed or as e + U+0301, full-width
// letters from an IME) is the same password.
func normalizePassword(password string) string { return norm.NFKC.String(password) }

// commonPasswordList holds the passwords of 8 bytes or more from the
// zxcvbn-ts common-language list (npm @zxcvbn-ts/language-common 4.1.3,
// src/passwords.json, MIT licence, (c) 2012-2016 Dan Wheeler and Dropbox, Inc.,
// (c) 2021 zxcvbn-ts), lower-cased and sorted, one a line. Shorter entries are
// already refused by the length rule.
//
//go:embed auth_common_passwords.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() []string {
	return strings.Split(strings.TrimSpace(commonPasswordList), "\n")
})

// isCommonPassword reports whether password (normalised) is on the embedded list.
func isCommonPassword(password string) bool {
	_, found := slices.BinarySearch(commonPasswords(), strings.ToLower(password))
	return found
}

// passwordProblem returns what is wrong with a new password, or "". Its
// length is counted as people see it (NIST SP 800-63B 5.1.1.2): in Unicode
// code points of its NFKC form, the form it is hashed in. "パスワード日" is 6
// characters, not 18 bytes, and a decomposed "é" (e + U+0301) counts once.
func passwordProblem(password, email string) string {
	if password == "" {
		return "Choose a password."
	}
	// Bytes as received, checked before any work on them: NFKC and argon2id
	// then only ever see a bounded input.
	if len(password) > maxPasswordBytes {
		return "Use at most 1024 characters. Letters outside the Latin alphabet count as two to four."
	}
	p := normalizePassword(password)
	switch {
	case utf8.RuneCountInString(p) < minPasswordChars:
		return "Use at least 8 characters."
	case isCommonPassword(p):
		return "This password is too common and easy to guess. Try a longer phrase."
	case normalizeEmail(p) == email:
		return "Your password must not be your email address."
	}
	return ""
}
