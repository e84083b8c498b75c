module ocgo

go 1.26.8

require (
	github.com/bmatcuk/doublestar/v4 v4.10.4
	github.com/pmezard/go-difflib v1.0.0
	github.com/sabhiram/go-gitignore v0.0.0-20210923224102-525f6e181f06
	golang.org/x/net v0.58.0
)

require github.com/stretchr/testify v1.12.0 // indirect
