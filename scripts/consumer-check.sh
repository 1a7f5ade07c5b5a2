#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack`, install the tarball into a scratch project outside
# the repository, then run a JavaScript consumer under plain Node 24 and 22 (no flags, no loaders)
# and type-check a TypeScript consumer made by `tsc --init` (skipLibCheck off) under TypeScript 5.9
# and 7. Usage: scripts/consumer-check.sh [path to a Node 22 binary]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
node24="$repo/node_modules/.bin/node"
node22="${1:-}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "-- npm pack"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$scratch" | tail -1)"
files="$(tar tzf "$scratch/$tarball")"
echo "$tarball: $(echo "$files" | wc -l) files"
if echo "$files" | grep -E '^package/(test|bench|examples|\.ci|scripts)/|\.test\.(ts|js)$'; then
  echo "the tarball ships files a consumer does not need (above)" >&2
  exit 1
fi

echo "-- a JavaScript consumer under plain Node"
mkdir "$scratch/js"
cd "$scratch/js"
echo '{ "private": true, "type": "module" }' > package.json
npm install --silent --no-audit --no-fund "$scratch/$tarball"
cp "$repo/test/consumer/app.js" app.js
"$node24" app.js
if [ -n "$node22" ]; then "$node22" app.js; fi

for ts in 5.9 7; do
  echo "-- a TypeScript consumer, tsc --init, TypeScript $ts"
  dir="$scratch/ts$ts"
  mkdir "$dir"
  cd "$dir"
  echo '{ "private": true, "type": "module" }' > package.json
  npm install --silent --no-audit --no-fund "$scratch/$tarball" "typescript@$ts"
  PATH="$repo/node_modules/.bin:$PATH" npx tsc --init >/dev/null
  # tsc --init writes skipLibCheck: true; the declarations must hold without it.
  sed -i 's#"skipLibCheck": true#"skipLibCheck": false#' tsconfig.json
  grep -q '"skipLibCheck": false' tsconfig.json
  cp "$repo/test/consumer/app.ts" app.ts
  PATH="$repo/node_modules/.bin:$PATH" npx tsc --noEmit
  echo "ok: TypeScript $(PATH="$repo/node_modules/.bin:$PATH" npx tsc --version)"
done
