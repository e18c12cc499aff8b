package store

import "time"

// SetResyncInterval shortens the re-list pacing for a test.
func SetResyncInterval(d time.Duration) (restore func()) {
	old := minResyncInterval
	minResyncInterval = d
	return func() { minResyncInterval = old }
}
