package modfetch

import "time"

// SetQuerierClock sets the clock q reads for MutableTTL.
func SetQuerierClock(q *Querier, now func() time.Time) { q.now = now }
