//go:build !unix

package config

// lockFile is a no-op where flock is unavailable; AuthStore's mutex still
// serialises writers within the process.
func lockFile(string) (func(), error) { return func() {}, nil }
