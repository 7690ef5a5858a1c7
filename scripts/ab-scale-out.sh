#!/usr/bin/env bash
# A/B runs on PostgreSQL + Redis with the servers of one build and the
# loadgen of another (a new loadgen option against an old server):
#
#   SERVER=/tmp/jixiao.old LOADGEN=target/release/jixiao \
#     bash scripts/ab-scale-out.sh --forms 30000 --batch 0 --concurrency 64 --rate 2500
#
# Starts a front and one scoring worker of $SERVER on a database of their own
# (`jixiao_ab` on $PG, made afresh) and Redis keys under `jixiao_ab`, runs
# `$LOADGEN loadgen --spawn none` with the arguments given, then stops the
# servers and removes the database and the keys. Servers' logs go to $WORK.
set -euo pipefail
SERVER=${SERVER:-target/release/jixiao}
LOADGEN=${LOADGEN:-$SERVER}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379}
WORK=${WORK:-$(mktemp -d -t jixiao-ab-XXXXXX)}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
FRONT_PORT=$(free_port)
WORKER_PORT=$(free_port)

psql "$PG/test" -qc "DROP DATABASE IF EXISTS jixiao_ab WITH (FORCE)" -c "CREATE DATABASE jixiao_ab"
export JIXIAO_DATABASE_URL="$PG/jixiao_ab?sslmode=disable" JIXIAO_REDIS_URL="$REDIS" JIXIAO_REDIS_PREFIX=jixiao_ab
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern 'jixiao_ab*' | xargs -r redis-cli -u "$REDIS" del >/dev/null
  psql "$PG/test" -qc "DROP DATABASE IF EXISTS jixiao_ab WITH (FORCE)"
}
trap cleanup EXIT
"$SERVER" serve --role intake,audit,export --listen "127.0.0.1:$FRONT_PORT" >"$WORK/front.log" 2>&1 &
pids+=($!)
sleep 3
JIXIAO_PEERS__INTAKE="http://127.0.0.1:$FRONT_PORT" \
  "$SERVER" serve --role scoring,audit --listen "127.0.0.1:$WORKER_PORT" >"$WORK/worker.log" 2>&1 &
pids+=($!)
sleep 3
"$LOADGEN" loadgen --spawn none --addr "http://127.0.0.1:$FRONT_PORT" "$@"
