package config

import (
	"os"

	"github.com/gofrs/flock"
)

// lockFile takes an exclusive flock on path (created 0600 if missing) and
// returns its release. The kernel drops the lock if the process dies; the
// lock file is never removed, so two processes can never hold locks on
// different inodes of the same name.
func lockFile(path string) (func(), error) {
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return nil, err
	}
	return func() { _ = fl.Close() }, nil
}
