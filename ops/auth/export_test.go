package auth

import (
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// CountBcrypt makes a count its bcrypt comparisons in the returned
// counter. Call it before a is used.
func CountBcrypt(a *Authenticator) *atomic.Int64 {
	var n atomic.Int64
	a.compare = func(hash, pass []byte) error {
		n.Add(1)
		return bcrypt.CompareHashAndPassword(hash, pass)
	}
	return &n
}
