#!/usr/bin/env bash
# Conformance of the served OpenAPI document: schemathesis (pinned, in a venv) generates
# requests for every documented operation against a running `walletcards serve`, once on
# SQLite (a temporary data folder) and once on PostgreSQL (a fresh database, dropped after),
# with one of each resource seeded (scripts/conformance_seed.py) for the operations that take
# an id, and fails on any 5xx, any answer whose status, content type or body the document does not
# describe.
#
# Settings (environment):
#   WALLETCARDS_BIN            the binary to run (default: `cargo build`, then target/debug)
#   CONFORMANCE_MAX_EXAMPLES   generated cases per operation and phase (default 50)
#   CONFORMANCE_SEED           the generator's seed (default fixed, so runs are repeatable)
#   CONFORMANCE_ENGINES        "sqlite postgres" (default) or one of them
#   CONFORMANCE_VENV           where schemathesis is installed (default .ci/venv, git-ignored)
#   CONFORMANCE_SCHEMA         a document file to test instead of the served one (while editing
#                              src/http/openapi.json, without rebuilding)
#   CONFORMANCE_REPORT_DIR     keep a HAR of every request and answer there, per engine
#   TEST_POSTGRES_URL          a server where this user may CREATE DATABASE
#                              (default postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples=${CONFORMANCE_MAX_EXAMPLES:-50}
seed=${CONFORMANCE_SEED:-20261207}
engines=${CONFORMANCE_ENGINES:-sqlite postgres}
venv=${CONFORMANCE_VENV:-.ci/venv}
postgres_url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
requirements=.ci/schemathesis-requirements.txt
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

# schemathesis and its dependencies at the versions in the requirements file.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
stamp="$venv/.requirements"
if ! cmp -s "$requirements" "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$requirements"
  cp "$requirements" "$stamp"
fi
st="$(cd "$venv" && pwd)/bin/st"

bin=${WALLETCARDS_BIN:-}
if [ -z "$bin" ]; then
  cargo build --locked --quiet --bin walletcards
  bin="${CARGO_TARGET_DIR:-target}/debug/walletcards"
fi

# Nothing of the caller's WALLETCARDS_* settings reaches the server.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^WALLETCARDS_' || true)

work=$(mktemp -d "${TMPDIR:-/tmp}/walletcards-conformance.XXXXXX")
server=""
database=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$database" ]; then psql -q "$postgres_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_key=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

ready() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}

# Starts the server on a free port with database URL $1; sets $server and $base.
start_server() {
  local dir="$work/$2"
  mkdir -p "$dir"
  WALLETCARDS_BIND=127.0.0.1:0 \
    WALLETCARDS_DATABASE_URL="$1" \
    WALLETCARDS_DATA_DIR="$dir/data" \
    WALLETCARDS_CERTS_DIR="$dir/certs" \
    WALLETCARDS_ADMIN_KEY="$admin_key" \
    WALLETCARDS_WEBHOOK_SECRET="whsec_conformance" \
    RUST_LOG=error \
    WALLETCARDS_LOG_FORMAT=json \
    "$bin" serve >"$dir/stdout.log" 2>"$dir/stderr.log" &
  server=$!
  base=""
  for _ in $(seq 1 300); do
    base=$(sed -n 's|^walletcards is listening on \(http://[^ ]*\).*|\1|p' "$dir/stdout.log" 2>/dev/null || true)
    if [ -n "$base" ] && ready "$base/readyz"; then return 0; fi
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "walletcards did not become ready ($2):" >&2
  cat "$dir/stdout.log" "$dir/stderr.log" >&2
  return 1
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

failed=()
for engine in $engines; do
  case "$engine" in
    sqlite) url="sqlite://$work/sqlite/data/walletcards.db" ;;
    postgres)
      database="wc_conformance_$$"
      psql -q "$postgres_url" -c "CREATE DATABASE $database" >/dev/null
      url="${postgres_url%/*}/$database"
      ;;
    *) echo "unknown engine $engine" >&2; exit 2 ;;
  esac
  start_server "$url" "$engine"
  python3 scripts/conformance_seed.py "$base" "$admin_key" "$work/$engine/schemathesis.toml"
  echo "== conformance on $engine at $base (max $max_examples examples per operation, seed $seed)"
  started=$(date +%s)
  report=()
  if [ -n "${CONFORMANCE_REPORT_DIR:-}" ]; then
    report=(--report har --report-dir "$CONFORMANCE_REPORT_DIR/$engine")
  fi
  # From the work folder, where schemathesis leaves its cache.
  if ! (cd "$work" && "$st" --config-file "$work/$engine/schemathesis.toml" run "${CONFORMANCE_SCHEMA:-$base/api/v1/openapi.json}" \
      --url "$base" \
      --header "Authorization: Bearer $admin_key" \
      --checks "$checks" \
      --max-examples "$max_examples" \
      --seed "$seed" \
      --workers 2 \
      --generation-database none \
      --suppress-health-check all \
      --request-timeout 30 \
      "${report[@]}" \
      --no-color); then
    failed+=("$engine")
    echo "server errors ($engine):" >&2
    tail -n 20 "$work/$engine/stderr.log" >&2
  fi
  echo "== $engine: $(($(date +%s) - started)) s"
  stop_server
  if [ "$engine" = postgres ]; then
    psql -q "$postgres_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
    database=""
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "conformance failed on: ${failed[*]}" >&2
  exit 1
fi
echo "conformance passed on: $engines"
