package modfetch

import "time"

// Retry bounds the retries of a request to a module proxy or a checksum
// database. Requests are GETs, retried with exponential backoff (and any
// longer Retry-After the server asks for) after network errors and the
// answers 408, 429 and 5xx; never after 404, 410 or any other answer.
// Each request starts a fresh backoff. Zero fields take the defaults in
// brackets.
type Retry struct {
	Attempts   int           // attempts in all, the first included [4]; 1 disables retries
	MaxElapsed time.Duration // time across all attempts and waits [30s]
	Initial    time.Duration // first wait [250ms], doubling each time
	Max        time.Duration // longest wait [8s]
}
