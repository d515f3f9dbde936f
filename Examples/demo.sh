#!/usr/bin/env bash
# The main job on a bundled example: build a small leaky C program as four "builds", run each twice under
# jemalloc's heap profiler, ingest every dump into one store, and show what the store holds.
#
#   ./Examples/demo.sh            # writes ./demo-out/ (dumps, binaries, profhist.db)
#
# Needs: swift, gcc, libjemalloc-dev (jemalloc + jeprof), and llvm (llvm-symbolizer) for file:line.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"
mkdir -p "$out"

echo "== building profhist"
swift build --product profhist >/dev/null
profhist=.build/debug/profhist
export PROFHIST_DB="$out/profhist.db"

source=Sources/ProfhistTestSupport/Fixtures/leaky.c
# v1.0 and v1.1 only leak inside a run (leaky_cache); v1.2 adds session_registry, a leak that grows with
# every phase; v1.3 keeps it. EXTRA_CODE moves every address, as real new builds do.
declare -A defines=(
    [v1.0]=""
    [v1.1]="-DEXTRA_CODE"
    [v1.2]="-DLEAK_SINCE_BUILD"
    [v1.3]="-DLEAK_SINCE_BUILD -DEXTRA_CODE"
)
day=10
for build in v1.0 v1.1 v1.2 v1.3; do
    mkdir -p "$out/$build"
    # shellcheck disable=SC2086
    gcc -O1 -g -fno-omit-frame-pointer ${defines[$build]} "$source" -o "$out/$build/leaky" -ljemalloc -lpthread
    for run in 1 2; do
        MALLOC_CONF=prof:true,lg_prof_sample:12 "$out/$build/leaky" "$out/$build/run$run" 3 512 2048
        for phase in 0 1 2; do
            "$profhist" ingest "$out/$build/run$run.$phase.heap" --build "$build" --run "run$run" \
                --binary "$out/$build/leaky" --label demo=leaky --at "2026-01-${day}T0${run}:${phase}0:00Z" --quiet
        done
    done
    echo "ingested build $build: 2 runs, 3 dumps each"

    day=$((day + 1))
done

echo
echo "== profhist builds"
"$profhist" builds
echo
echo "== profhist snapshots"
"$profhist" snapshots
echo
echo "== the biggest leaf functions per build (profhist query leaf_totals_by_build)"
"$profhist" query leaf_totals_by_build --param limit=40 | awk 'NR == 1 || $3 == "session_registry" || $3 == "leaky_cache" || $3 == "big_buffers"'
echo
stack=$("$profhist" export --format csv --build v1.3 | awk -F, '$7 == "session_registry" { print $6; exit }')
echo "== profhist show $stack   (the stack that appeared in v1.2)"
"$profhist" show "$stack"
echo
echo "== profhist export --format csv | head -3"
"$profhist" export --format csv | head -3
echo
echo "store: $PROFHIST_DB ($(du -h "$PROFHIST_DB" | cut -f1)); try: PROFHIST_DB=$PROFHIST_DB $profhist --help"
