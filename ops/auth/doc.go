// Package auth closes a module proxy to outsiders: bearer tokens (a
// token is also accepted as the password of Basic authentication, which
// is how the go command sends .netrc credentials with GOAUTH=netrc) and
// users of a bcrypt htpasswd file, checked in constant time. Requests
// without valid credentials get 401 with a WWW-Authenticate challenge.
// Credentials are never logged.
package auth
