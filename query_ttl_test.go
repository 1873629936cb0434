package modfetch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestQuerierRetractionMemoryExpires: with MutableTTL, what a Querier
// read of a module's retractions (its latest go.mod) is forgotten after
// MutableTTL, so that a version retracted later is seen as retracted;
// without it, the Querier remembers for its lifetime, like one run of
// the go command.
func TestQuerierRetractionMemoryExpires(t *testing.T) {
	const ttl = time.Hour
	for _, tt := range []struct {
		name        string
		ttl         time.Duration
		wantExpired bool
	}{
		{"MutableTTL", ttl, true},
		{"lifetime", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := fixture.Queries()
			q := &modfetch.Querier{Resolver: set, MutableTTL: tt.ttl}
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			modfetch.SetQuerierClock(q, clock.now)
			ctx := context.Background()
			if err := q.Retracted(ctx, "example.com/retract", "v1.0.0"); err != nil {
				t.Fatalf("v1.0.0 retracted at first: %v", err)
			}
			// A new latest version retracts v1.0.0.
			set.Add("example.com/retract", "v1.3.0", map[string]string{
				"go.mod": "module example.com/retract\n\ngo 1.21\n\nretract v1.0.0 // found broken\n",
			}, fixture.Day(4))

			clock.advance(ttl - time.Second)
			if err := q.Retracted(ctx, "example.com/retract", "v1.0.0"); err != nil {
				t.Fatalf("within MutableTTL: %v, want the remembered retractions (none for v1.0.0)", err)
			}
			clock.advance(2 * time.Second)
			err := q.Retracted(ctx, "example.com/retract", "v1.0.0")
			var re *modfetch.RetractedError
			if got := errors.As(err, &re); got != tt.wantExpired {
				t.Fatalf("after MutableTTL: Retracted = %v; want retracted %v", err, tt.wantExpired)
			}
			if tt.wantExpired && (len(re.Rationale) != 1 || re.Rationale[0] != "found broken") {
				t.Errorf("rationale %q", re.Rationale)
			}
			info, err := q.Query(ctx, "example.com/retract", "latest", nil)
			if err != nil {
				t.Fatal(err)
			}
			if info.Version != "v1.3.0" {
				t.Errorf("latest = %s, want v1.3.0", info.Version)
			}
			// v1.0.0 is chosen by "<v1.1.0" only while its retraction is
			// not known.
			info, err = q.Query(ctx, "example.com/retract", "<v1.1.0", nil)
			if tt.wantExpired {
				var nm *modfetch.NoMatchingVersionError
				if !errors.As(err, &nm) {
					t.Errorf("<v1.1.0 after MutableTTL = %v, %v; want no matching versions", info, err)
				}
			} else if err != nil || info.Version != "v1.0.0" {
				t.Errorf("<v1.1.0 = %v, %v; want v1.0.0", info, err)
			}
		})
	}
}
