#!/usr/bin/env bash
# The main job on a bundled example: build a small leaky C program as six "builds", run each three times under
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
# Six builds of one program. v1.0-v1.2 are healthy; v1.3 adds session_registry, a leak that grows in every
# phase of a run; v1.5 also grows big_buffers by half (a size regression). EXTRA_CODE moves every address in odd
# builds, as real new builds do, so only symbolized stacks can be compared.
builds=(v1.0 v1.1 v1.2 v1.3 v1.4 v1.5)
declare -A defines=(
    [v1.0]=""
    [v1.1]="-DEXTRA_CODE"
    [v1.2]=""
    [v1.3]="-DLEAK_SINCE_BUILD -DEXTRA_CODE"
    [v1.4]="-DLEAK_SINCE_BUILD"
    [v1.5]="-DLEAK_SINCE_BUILD -DBIG_BUFFERS=60 -DEXTRA_CODE"
)
day=10
for build in "${builds[@]}"; do
    mkdir -p "$out/$build"
    # shellcheck disable=SC2086
    gcc -O1 -g -fno-omit-frame-pointer ${defines[$build]} "$source" -o "$out/$build/leaky" -ljemalloc -lpthread
    for run in 1 2 3; do
        MALLOC_CONF=prof:true,lg_prof_sample:14 "$out/$build/leaky" "$out/$build/run$run" 3 256 2048
        for phase in 0 1 2; do
            "$profhist" ingest "$out/$build/run$run.$phase.heap" --build "$build" --run "run$run" \
                --binary "$out/$build/leaky" --label demo=leaky --at "2026-01-${day}T0${run}:${phase}0:00Z" --quiet
        done
    done
    echo "ingested build $build: 3 runs, 3 dumps each"
    day=$((day + 1))
done

echo
echo "== profhist builds"
"$profhist" builds
echo
echo "== profhist snapshots --build v1.3"
"$profhist" snapshots --build v1.3
echo
echo "== profhist top          (which stacks grow, since which build)"
"$profhist" top
echo
leak=$("$profhist" top --format csv --limit 1 | awk -F, 'NR == 2 { print $2 }')
since=$("$profhist" top --format csv --limit 1 | awk -F, 'NR == 2 { print $10 }')
before=$("$profhist" builds --format csv | awk -F, -v b="$since" '$2 == b { print prev } { prev = $2 }')
echo "== profhist diff --base $before --target $since   (the two builds around the leak)"
"$profhist" diff --base "$before" --target "$since" --limit 5
echo
echo "== profhist show $leak   (the leaking stack, root to leaf)"
"$profhist" show "$leak"
echo
echo "== profhist check --build v1.3   (the CI gate at the leak's build; exit 1 = growth)"
"$profhist" check --build v1.3 || echo "(exit $?)"
echo
echo "== profhist export --format csv --output $out/memory.csv   (first 3 lines)"
"$profhist" export --format csv --output "$out/memory.csv"
head -3 "$out/memory.csv"
echo
echo "== profhist report --check --output $out/report.html   (one self-contained HTML page: charts, table, flame graphs)"
"$profhist" report --check --output "$out/report.html"
echo "report: $(cd "$out" && pwd)/report.html (open it in a browser; it needs no network)"
echo
echo "store: $PROFHIST_DB ($(du -h "$PROFHIST_DB" | cut -f1)); try: PROFHIST_DB=$PROFHIST_DB $profhist --help"
