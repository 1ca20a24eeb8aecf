#!/usr/bin/env bash
# The table of BENCHMARKS.md in one command: runs every benchmark (SQLite, and PostgreSQL on
# the tests' throwaway cluster), each figure beside its baseline measured in the same run,
# its target and pass or fail; prints the machine, the commit and the table in Markdown.
# Usage: bash benches/table.sh > table.md   (progress and the benchmarks' own output on stderr)
set -uo pipefail
cd "$(dirname "$0")/.."
eval "$(bash .ci/postgres start)"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT

# Runs one benchmark with the given environment, keeping its table rows; a benchmark that
# stops early gets a failing row of its own.
bench() {
  local name=$1
  shift
  echo "== $name $*" >&2
  if ! env "$@" cargo bench --quiet --bench "$name" | tee -a /dev/stderr | sed -n 's/^row: //p' >>"$rows"; then
    echo "| $name ($*) | did not finish | | | FAIL |" >>"$rows"
  fi
}

bench import_accumulator BENCH_EVENTS=2000000 BENCH_ROUNDS=2
bench import_accumulator -u CLOOP_TEST_POSTGRES_URL BENCH_EVENTS=10000000 BENCH_ROUNDS=1
bench caliper_post
# A minute of mixed load per engine: 0 errors and a flat RSS.
bench soak SOAK_SECONDS=60
for extra in benches/*.rs; do
  name=$(basename "$extra" .rs)
  case $name in support | import_accumulator | caliper_post | soak) continue ;; esac
  bench "$name"
done

echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), commit $(git rev-parse --short HEAD)."
echo
echo "| what | figure | baseline, same run | target | verdict |"
echo "|---|---|---|---|---|"
cat "$rows"
