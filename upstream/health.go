package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modfetch/modfetch/internal/web"
)

// A HealthState is where an upstream's circuit breaker stands.
type HealthState int

const (
	// Healthy: requests go to the upstream (the breaker is closed).
	Healthy HealthState = iota
	// Unavailable: the upstream failed Breaker.Failures times in a row
	// and is skipped until its cooldown ends (the breaker is open).
	Unavailable
	// Probing: the cooldown ended and one request is trying the upstream
	// again; others still skip it (the breaker is half-open).
	Probing
)

func (s HealthState) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Unavailable:
		return "unavailable"
	case Probing:
		return "probing"
	}
	return fmt.Sprintf("HealthState(%d)", int(s))
}

// MarshalText makes a HealthState its name in JSON and logs.
func (s HealthState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a HealthState's name.
func (s *HealthState) UnmarshalText(b []byte) error {
	for _, v := range []HealthState{Healthy, Unavailable, Probing} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown health state %q", b)
}

// A Breaker says when an upstream that keeps failing is skipped.
// The zero value has the defaults.
type Breaker struct {
	// Failures in a row that make the upstream Unavailable [5]. A request
	// that ran out of its connect or first-byte budget counts as all of
	// them: a mirror that does not answer within the budget is skipped at
	// once, so that requests started after it cost nothing (a timeout
	// takes tens of seconds, and the go command fetches in waves).
	Failures int
	// Cooldown is how long it is skipped the first time [10s]; each
	// failed probe doubles it, up to MaxCooldown [5m].
	Cooldown, MaxCooldown time.Duration
}

// ProbeTimeout bounds a background probe of a [Health].
const ProbeTimeout = time.Minute

// ErrUnavailable is wrapped by the error of a request that a [Chain] did
// not send because the upstream's breaker is open. It is not a not-found
// error: after a "|" the walk moves on at once, after a "," it ends there,
// as for any other failure of the upstream.
var ErrUnavailable = errors.New("upstream skipped: it failed repeatedly and is cooling down")

// Health is the record of one upstream's recent requests — outcomes and
// latencies — and its circuit breaker. A [Proxy] with a Health reports
// every request it sends to it; a [Chain] entry with one is skipped while
// the breaker is open. Failures are what says the upstream is unwell:
// transport errors, time budgets run out, 5xx, 408 and 429 answers,
// bodies cut off, answers that do not parse. An answer the server meant
// (200, 404, 410, 403, other 4xx) is a success; a request its caller
// abandoned before an answer counts as neither, one abandoned in its
// body as a success. Each request counts once: a 200 answer when its
// body ends.
//
// The zero value is ready to use, records, and never skips: set Breaker
// to skip. A Health is safe for concurrent use; its fields must not change
// after first use.
type Health struct {
	// Name identifies the upstream in Stats and OnChange (a redacted URL).
	Name string

	// Breaker, if set, skips the upstream while it keeps failing.
	Breaker *Breaker

	// OnChange, if set, is called (without locks held) when the state
	// changes, with the failure that caused it (nil on recovery).
	OnChange func(name string, from, to HealthState, err error)

	// Probe, if set, tries the upstream with one request whose outcome it
	// reports to the Health (a Proxy's probe asks for its base URL). When
	// a cooldown ends, the Health probes in the background with it, and
	// requests keep skipping the upstream until the probe answers, rather
	// than a request of a caller's becoming the probe and waiting out a
	// dead upstream's timeout. A probe runs at most ProbeTimeout.
	Probe func(ctx context.Context)

	now func() time.Time // test clock

	mu          sync.Mutex
	state       HealthState
	consecutive int
	cooldown    time.Duration // of the current or last opening
	openUntil   time.Time
	probing     bool // a probe is under way
	probeSeen   bool // the probe's request reported
	requests    int64
	failures    int64
	recent      [64]bool // ring of the last outcomes: true = failure
	nRecent     int
	latencies   [256]time.Duration // ring of the last answers' latencies
	nLatency    int
	lastErr     string
	lastOK      time.Time
	lastFail    time.Time
}

// HealthStats is a snapshot of a [Health], for logs, metrics and
// readiness checks.
type HealthStats struct {
	Name                string        `json:"name"`
	State               HealthState   `json:"state"`
	Requests            int64         `json:"requests"`             // since the start
	Failures            int64         `json:"failures"`             // since the start
	ConsecutiveFailures int           `json:"consecutive_failures"` // since the last success
	ErrorRate           float64       `json:"error_rate"`           // of the last 64 requests
	P50                 time.Duration `json:"p50_ns"`               // answer latencies, of the last 256 answers
	P95                 time.Duration `json:"p95_ns"`
	P99                 time.Duration `json:"p99_ns"`
	LastError           string        `json:"last_error,omitempty"`
	LastSuccess         time.Time     `json:"last_success,omitzero"`
	LastFailure         time.Time     `json:"last_failure,omitzero"`
	RetryAt             time.Time     `json:"retry_at,omitzero"` // when Unavailable: the end of its cooldown
}

// Usable reports whether requests may be sent to the upstream now or
// after a short wait: it is not Unavailable with its cooldown running.
func (s HealthStats) Usable(now time.Time) bool {
	return s.State != Unavailable || !now.Before(s.RetryAt)
}

func (h *Health) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

func (b *Breaker) limits() (failures int, cooldown, maxCooldown time.Duration) {
	failures, cooldown, maxCooldown = b.Failures, b.Cooldown, b.MaxCooldown
	if failures <= 0 {
		failures = 5
	}
	if cooldown <= 0 {
		cooldown = 10 * time.Second
	}
	if maxCooldown <= 0 {
		maxCooldown = 5 * time.Minute
	}
	return failures, max(cooldown, 0), max(maxCooldown, cooldown)
}

// Stats returns a snapshot of h.
func (h *Health) Stats() HealthStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := HealthStats{
		Name:                h.Name,
		State:               h.state,
		Requests:            h.requests,
		Failures:            h.failures,
		ConsecutiveFailures: h.consecutive,
		LastError:           h.lastErr,
		LastSuccess:         h.lastOK,
		LastFailure:         h.lastFail,
	}
	if h.state == Unavailable {
		st.RetryAt = h.openUntil
	}
	if n := min(h.nRecent, len(h.recent)); n > 0 {
		bad := 0
		for _, f := range h.recent[:n] {
			if f {
				bad++
			}
		}
		st.ErrorRate = float64(bad) / float64(n)
	}
	if n := min(h.nLatency, len(h.latencies)); n > 0 {
		l := slices.Clone(h.latencies[:n])
		slices.Sort(l)
		at := func(q float64) time.Duration { return l[min(n-1, int(q*float64(n)))] }
		st.P50, st.P95, st.P99 = at(0.50), at(0.95), at(0.99)
	}
	return st
}

// allow reports whether a request may be sent to the upstream now. When
// it is the probe of a half-open breaker, probe is true and the caller
// must call h.endProbe when the request is over.
func (h *Health) allow() (ok, probe bool) {
	if h == nil || h.Breaker == nil {
		return true, false
	}
	h.mu.Lock()
	var from HealthState
	changed := false
	switch h.state {
	case Healthy:
		h.mu.Unlock()
		return true, false
	case Unavailable:
		if h.clock().Before(h.openUntil) {
			h.mu.Unlock()
			return false, false
		}
		from, changed = h.state, true
		h.state, h.probing, h.probeSeen = Probing, true, false
		ok, probe = true, true
	case Probing:
		if h.probing {
			h.mu.Unlock()
			return false, false
		}
		h.probing, h.probeSeen = true, false
		ok, probe = true, true
	}
	background := h.Probe != nil
	if background {
		ok, probe = false, false
	}
	h.mu.Unlock()
	if changed {
		h.changed(from, Probing, nil)
	}
	if background {
		go h.probeInBackground()
	}
	return ok, probe
}

// probeInBackground runs h.Probe. A probe that reported nothing leaves
// the upstream Unavailable for another cooldown.
func (h *Health) probeInBackground() {
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	h.Probe(ctx)
	h.mu.Lock()
	reopened := h.state == Probing && !h.probeSeen
	if reopened {
		h.state, h.probing, h.openUntil = Unavailable, false, h.clock().Add(max(h.cooldown, time.Second))
	}
	h.mu.Unlock()
	if reopened {
		h.changed(Probing, Unavailable, errors.New("probe got no answer"))
	}
}

// unavailable reports whether the breaker is open (the Proxy retries no
// more).
func (h *Health) unavailable() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Breaker != nil && h.state == Unavailable
}

// endProbe ends a probe that allow granted. A probe whose request never
// reached the upstream (its caller left first, or it was refused before
// being sent) leaves the breaker half-open for the next request.
func (h *Health) endProbe() {
	h.mu.Lock()
	if h.state == Probing && !h.probeSeen {
		h.probing = false
	}
	h.mu.Unlock()
}

// answered closes a half-open breaker whose probe got an answer.
func (h *Health) answered() {
	h.mu.Lock()
	closed := h.probing && h.state == Probing
	if closed {
		h.probeSeen = true
		h.state, h.probing, h.cooldown = Healthy, false, 0
	}
	h.mu.Unlock()
	if closed {
		h.changed(Probing, Healthy, nil)
	}
}

// observe records one request's outcome: failed or not, with the answer's
// latency (for a success) and the failure.
func (h *Health) observe(failed bool, latency time.Duration, err error) {
	if h == nil {
		return
	}
	now := h.clock()
	h.mu.Lock()
	h.requests++
	h.recent[h.nRecent%len(h.recent)] = failed
	h.nRecent++
	from := h.state
	if h.probing {
		h.probeSeen = true
	}
	if !failed {
		h.latencies[h.nLatency%len(h.latencies)] = latency
		h.nLatency++
		h.consecutive = 0
		h.lastOK = now
		if h.state != Healthy && h.probing {
			// The probe answered: close the breaker.
			h.state, h.probing, h.cooldown = Healthy, false, 0
		}
	} else {
		h.failures++
		h.consecutive++
		h.lastFail = now
		if err != nil {
			h.lastErr = err.Error()
		}
		if b := h.Breaker; b != nil {
			failures, cooldown, maxCooldown := b.limits()
			switch {
			case h.state == Probing && h.probing:
				h.cooldown = min(2*max(h.cooldown, cooldown), maxCooldown)
				h.state, h.probing, h.openUntil = Unavailable, false, now.Add(h.cooldown)
			case h.state == Healthy && h.consecutive >= failures:
				h.cooldown = cooldown
				h.state, h.openUntil = Unavailable, now.Add(cooldown)
			}
		}
	}
	to := h.state
	h.mu.Unlock()
	if from != to {
		var cause error
		if failed {
			cause = err
		}
		h.changed(from, to, cause)
	}
}

func (h *Health) changed(from, to HealthState, err error) {
	if h.OnChange != nil {
		h.OnChange(h.Name, from, to, err)
	}
}

// observeAttempt records one attempt that the Proxy's web client made,
// once: a 200 answer when its body ends (whole, refused by the reader's
// check, broken, or left by its caller, which says the server answered),
// any other when it starts or fails.
func (h *Health) observeAttempt(a web.Attempt) {
	if h == nil {
		return
	}
	switch {
	case a.Body && (a.Err == nil || a.Canceled):
		h.observe(false, a.Latency, nil)
		return
	case a.Canceled:
		return // the caller left before an answer: nothing said of the server
	case !a.Body && a.Err == nil && a.Status == http.StatusOK:
		// Counted when its body ends, but a probe's answer closes the
		// breaker now: its caller ends the probe before the body ends.
		h.answered()
		return
	}
	failed := attemptFailed(a)
	if failed && (errors.Is(a.Err, web.ErrConnect) || errors.Is(a.Err, web.ErrFirstByte)) {
		h.observeTimeout(a.Latency, a.Err)
		return
	}
	h.observe(failed, a.Latency, a.Err)
}

// observeTimeout records a request that ran out of its connect or
// first-byte budget: with a Breaker, it opens at once.
func (h *Health) observeTimeout(latency time.Duration, err error) {
	h.mu.Lock()
	if h.Breaker != nil {
		failures, _, _ := h.Breaker.limits()
		h.consecutive = max(h.consecutive, failures-1)
	}
	h.mu.Unlock()
	h.observe(true, latency, err)
}

// attemptFailed reports whether the attempt says the upstream is unwell.
func attemptFailed(a web.Attempt) bool {
	if a.Err == nil {
		return false
	}
	if a.Status != 0 && !a.Body {
		s := a.Status
		return s == 408 || s == 429 || s >= 500
	}
	return true
}
