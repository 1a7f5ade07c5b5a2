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

echo "-- publint and arethetypeswrong on the tarball"
rt="$scratch/runtimes"
cp -r "$repo/test/consumer/runtimes" "$rt"
cd "$rt"
npm install --silent --no-audit --no-fund --strict-allow-scripts "$scratch/$tarball"
node_modules/.bin/publint run "$scratch/$tarball" --strict
"$node24" node_modules/@arethetypeswrong/cli/dist/index.js "$scratch/$tarball" --profile esm-only --quiet

echo "-- the same app on Node (node:http), Bun, Deno and workerd (app.fetch)"
# The Worker is bundled for the browser platform: a Node built-in anywhere in what it imports
# fails the bundle.
node_modules/.bin/esbuild worker.js --bundle --format=esm --platform=browser \
  --conditions=workerd,worker,browser --log-level=warning --outfile=build/worker.js
export DENO_DIR="$scratch/deno" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
groups=()
stop_all() { for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done; }
trap 'stop_all; rm -rf "$scratch"' EXIT
run_on() { # run_on NAME COMMAND...: start it in its own process group, wait (bounded) for its
  # LISTENING line, probe it, stop it.
  local name=$1
  shift
  local log="$scratch/$name.log"
  : >"$log"
  setsid "$@" >"$log" 2>&1 &
  local group=$!
  groups+=("$group")
  local base=""
  for _ in $(seq 1 150); do
    base=$(awk '/^LISTENING/ { print $2; exit }' "$log")
    [ -n "$base" ] && break
    kill -0 "$group" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$base" ]; then
    echo "$name did not start:" >&2
    cat "$log" >&2
    return 1
  fi
  timeout 120 "$node24" probe.js "$base" "$name" || {
    echo "server log of $name:" >&2
    tail -20 "$log" >&2
    kill -TERM -- "-$group" 2>/dev/null || true
    return 1
  }
  kill -TERM -- "-$group" 2>/dev/null || true
  for _ in $(seq 1 25); do kill -0 "$group" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$group" 2>/dev/null || true
  wait "$group" 2>/dev/null || true
}
run_on node24 "$node24" node.js
if [ -n "$node22" ]; then run_on node22 "$node22" node.js; fi
run_on bun node_modules/.bin/bun --no-install bun.js
run_on deno node_modules/.bin/deno run --cached-only --allow-net=127.0.0.1 deno.js
run_on workerd "$node24" workerd.js

echo "-- the typed client under Node, Bun and Deno, against the Node server"
log="$scratch/client-server.log"
: >"$log"
setsid "$node24" node.js >"$log" 2>&1 &
server_group=$!
groups+=("$server_group")
base=""
for _ in $(seq 1 150); do
  base=$(awk '/^LISTENING/ { print $2; exit }' "$log")
  [ -n "$base" ] && break
  sleep 0.2
done
[ -n "$base" ] || { cat "$log" >&2; exit 1; }
timeout 60 "$node24" client-probe.js "$base" node24
timeout 60 node_modules/.bin/bun --no-install client-probe.js "$base" bun
timeout 60 node_modules/.bin/deno run --cached-only --allow-net=127.0.0.1 client-probe.js "$base" deno
kill -TERM -- "-$server_group" 2>/dev/null || true
wait "$server_group" 2>/dev/null || true
echo "consumer check passed"
