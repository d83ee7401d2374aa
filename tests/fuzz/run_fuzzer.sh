#!/usr/bin/env bash
# Runs one libFuzzer target the way `make test` and `make fuzz` do:
#   run_fuzzer.sh FUZZER SECONDS WORKDIR REGRESSIONS [SEED_DIR...]
# 1. every input in REGRESSIONS (crashes found before) must now pass;
# 2. then the fuzzer mutates for SECONDS, starting from WORKDIR/corpus (kept
#    between runs) and the seed folders. A crash, leak, sanitizer report or
#    an input slower than 10 s fails the run and leaves the input in WORKDIR;
#    copy it into REGRESSIONS once fixed.
# Extra libFuzzer flags (a dictionary) come in ATTN_FUZZ_FLAGS.
set -euo pipefail
fuzzer=$1 seconds=$2 workdir=$3 regressions=$4
shift 4
mkdir -p "$workdir/corpus"

if compgen -G "$regressions/*" >/dev/null; then
  echo "== replaying $(ls "$regressions" | wc -l) regression inputs from $regressions"
  "$fuzzer" ${ATTN_FUZZ_FLAGS:-} -runs=1 "$regressions"/* 2>&1 | tail -n 3
fi

echo "== fuzzing for ${seconds}s"
seeds=()
for d in "$@"; do [ -d "$d" ] && seeds+=("$d"); done
log="$workdir/last-run.log"
if ! "$fuzzer" ${ATTN_FUZZ_FLAGS:-} -max_total_time="$seconds" -timeout=10 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$workdir/" \
    "$workdir/corpus" "${seeds[@]}" >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "FAILED: the input is in $workdir (crash-*, leak-*, timeout-*); reproduce with: $fuzzer FILE"
  exit 1
fi
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$log" || tail -n 5 "$log"
echo "corpus: $(ls "$workdir/corpus" | wc -l) inputs"
