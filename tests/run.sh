#!/usr/bin/env bash
# The test command: everything CI checks, on a fresh clone. Needs only cargo and
# python3; starts PostgreSQL and Redis when they are down, installs Chromium
# (Debian package) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

echo "== services"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping
# Headless Chromium (Debian's) and CJK fonts, for the HTML report test.
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }
fi
chromium --version
# The tests' PostgreSQL databases, dropped before (what a failed run left)
# and after the run; their files go in a temporary directory of the run's
# own, removed at its end (SQLite logs of up to 50 MiB among them).
drop_test_databases() {
  psql -h 127.0.0.1 -U postgres -d test -Atc "select datname from pg_database where datname like 'jixiao_t_%'" |
    while read -r db; do psql -h 127.0.0.1 -U postgres -d test -qc "drop database if exists $db" || true; done
}
drop_test_databases
TEST_TMP=$(mktemp -d -t jixiao-ci-XXXXXX)
cleanup() { rm -rf "$TEST_TMP"; drop_test_databases; }
trap cleanup EXIT

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== rust tests"
# A hung test fails the run (the harness names tests running over 60 s)
# instead of holding CI until its own limit.
TMPDIR="$TEST_TMP" timeout --kill-after=30s 40m cargo test --workspace

echo "== python grpcio client against jixiao serve"
python3 -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
GEN=tests/python/gen
rm -rf "$GEN" && mkdir -p "$GEN"
python3 -m grpc_tools.protoc -I proto --python_out="$GEN" --grpc_python_out="$GEN" proto/jixiao/v1/*.proto
cargo build --quiet -p jixiao
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/jixiao" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"; cleanup' EXIT
status=0
JIXIAO_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/jixiao" JIXIAO_ADDR="127.0.0.1:$PORT" python3 -m pytest -q tests/python || status=$?
# Graceful shutdown on SIGTERM must end the process cleanly.
kill -TERM $SERVER
if ! wait $SERVER; then echo "jixiao serve did not exit cleanly on SIGTERM"; cat "$DATA/server.log"; status=1; fi
[ $status -eq 0 ] || { cat "$DATA/server.log"; exit $status; }
echo "== all checks passed"
