#!/usr/bin/env bash
# Fuzzes each document parser for a bounded time (default 60 s each):
#   bash scripts/fuzz.sh [SECONDS]
# Seeds: the sample text exports, and the .docx and .xlsx files the round-trip
# test makes from them. A crash input is kept under fuzz/artifacts/<target>/; add it
# to crates/jixiao-parse/tests/robustness.rs as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs nightly flags; the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus/parse_text fuzz/corpus/parse_docx fuzz/corpus/parse_xlsx
cp crates/jixiao-parse/tests/samples/*.txt fuzz/corpus/parse_text/
cargo test -q -p jixiao-parse --test roundtrip >/dev/null
SEEDS="${CARGO_TARGET_DIR:-target}/tmp/fuzz-seeds"
cp "$SEEDS"/*.docx fuzz/corpus/parse_docx/
cp "$SEEDS"/*.xlsx fuzz/corpus/parse_xlsx/
for target in parse_text parse_docx parse_xlsx; do
  echo "== fuzzing $target for ${SECONDS_EACH}s"
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048
done
echo "== no crash in any target"
