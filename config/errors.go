package config

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns wraps one of them.
var (
	// ErrConfigJSON: a config file is not valid JSONC.
	ErrConfigJSON = errors.New("config file is not valid json")
	// ErrConfigInvalid: a config file parsed but breaks the schema, or a
	// {file:} reference could not be read.
	ErrConfigInvalid = errors.New("config file is invalid")
	// ErrAuthInvalid: an Auth value does not match the Auth union.
	ErrAuthInvalid = errors.New("invalid auth")
	// ErrAuthID: a provider id is unusable as an auth.json key.
	ErrAuthID = errors.New("invalid provider id")
	// ErrAuthFile: auth.json could not be read, parsed or replaced.
	ErrAuthFile = errors.New("auth file unusable")
)

// Error names of the original server, used as Error.Name.
const (
	NameConfigJSON    = "ConfigJsonError"
	NameConfigInvalid = "ConfigInvalidError"
)

// Error reports a bad config file. Path never is an absolute path: it is
// "~/..." under the home directory, relative to the project root, or the base
// name otherwise, so it may be shown to HTTP clients.
type Error struct {
	Name    string // ConfigJsonError or ConfigInvalidError
	Path    string // the file, see above
	Key     string // dotted key, e.g. "agent.build.temperature"; empty for parse errors
	Message string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", e.Path, e.Key, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Message)
}

// Unwrap returns ErrConfigJSON or ErrConfigInvalid.
func (e *Error) Unwrap() error {
	if e.Name == NameConfigJSON {
		return ErrConfigJSON
	}
	return ErrConfigInvalid
}

// AuthError names the field of an Auth value that failed validation.
type AuthError struct {
	Field   string
	Message string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("invalid auth: field %q: %s", e.Field, e.Message)
}

// Unwrap returns ErrAuthInvalid.
func (e *AuthError) Unwrap() error { return ErrAuthInvalid }
