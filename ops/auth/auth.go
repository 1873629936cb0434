package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// An Authenticator checks a request's credentials: a bearer token, a
// token given as the password of Basic authentication (how the go
// command sends .netrc credentials), or a user and password of a bcrypt
// htpasswd file. Make one with Load.
type Authenticator struct {
	tokens [][]byte
	users  map[string][]byte // user -> bcrypt hash

	// bcrypt costs tens of milliseconds by design, and the go command
	// sends the same credentials with each of hundreds of requests: a
	// password that passed is remembered, as its SHA-256, per user.
	mu     sync.Mutex
	passed map[string][sha256.Size]byte

	// compare is bcrypt.CompareHashAndPassword when nil; tests count
	// its calls.
	compare func(hash, pass []byte) error
}

// Load reads the tokens file (one token per line; blank lines and lines
// starting with # are ignored) and the htpasswd file (user:hash lines,
// bcrypt hashes only, as htpasswd -B writes them), either of which may be
// "". It returns nil when both are "".
func Load(tokensFile, htpasswdFile string) (*Authenticator, error) {
	if tokensFile == "" && htpasswdFile == "" {
		return nil, nil
	}
	a := &Authenticator{users: make(map[string][]byte)}
	if tokensFile != "" {
		err := eachLine(tokensFile, func(n int, line string) error {
			a.tokens = append(a.tokens, []byte(line))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(a.tokens) == 0 {
			return nil, fmt.Errorf("%s: no tokens", tokensFile)
		}
	}
	if htpasswdFile != "" {
		err := eachLine(htpasswdFile, func(n int, line string) error {
			user, hash, ok := strings.Cut(line, ":")
			if !ok || user == "" {
				return fmt.Errorf("%s:%d: want user:bcrypt-hash", htpasswdFile, n)
			}
			if _, err := bcrypt.Cost([]byte(hash)); err != nil {
				return fmt.Errorf("%s:%d: user %s: only bcrypt hashes are accepted (htpasswd -B): %v", htpasswdFile, n, user, err)
			}
			a.users[user] = []byte(hash)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// eachLine calls f with each line of file that is not blank or a
// comment, trimmed.
func eachLine(file string, f func(n int, line string) error) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := f(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Check reports whether r carries valid credentials.
func (a *Authenticator) Check(r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return a.validToken([]byte(strings.TrimSpace(tok)))
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if hash, ok := a.users[user]; ok {
		return a.checkUser(user, hash, pass)
	}
	return a.validToken([]byte(pass))
}

// checkUser checks user's password pass against its bcrypt hash, or
// against the SHA-256 of the last password of user that passed (in
// constant time).
func (a *Authenticator) checkUser(user string, hash []byte, pass string) bool {
	sum := sha256.Sum256([]byte(pass))
	a.mu.Lock()
	known, ok := a.passed[user]
	a.mu.Unlock()
	if ok && subtle.ConstantTimeCompare(known[:], sum[:]) == 1 {
		return true
	}
	compare := a.compare
	if compare == nil {
		compare = bcrypt.CompareHashAndPassword
	}
	if compare(hash, []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	if a.passed == nil {
		a.passed = make(map[string][sha256.Size]byte)
	}
	a.passed[user] = sum
	a.mu.Unlock()
	return true
}

// validToken compares tok with every token in constant time.
func (a *Authenticator) validToken(tok []byte) bool {
	found := 0
	for _, t := range a.tokens {
		found |= subtle.ConstantTimeCompare(t, tok)
	}
	return found == 1
}

// Require answers requests without valid credentials with 401 and a
// challenge, and passes the others to h. A nil Authenticator passes
// everything.
func (a *Authenticator) Require(h http.Handler) http.Handler {
	if a == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Check(r) {
			w.Header().Add("WWW-Authenticate", `Basic realm="modfetch"`)
			w.Header().Add("WWW-Authenticate", `Bearer realm="modfetch"`)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, "401 Unauthorized: this module proxy needs credentials: a token as a Bearer token or a .netrc password (GOAUTH=netrc), or a user and password")
			return
		}
		h.ServeHTTP(w, r)
	})
}
