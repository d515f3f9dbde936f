#!/usr/bin/env bash
# Fuzzes profhist's parsers with libFuzzer (coverage-guided, under AddressSanitizer).
#
#   Fuzz/run.sh [PARSER|all] [SECONDS]       PARSER: heap, console, taskdump, recording (default: all, 60 s each)
#   Fuzz/run.sh PARSER FILE...               runs the harness once on each FILE (to reproduce a finding)
#
# Builds the harnesses (Fuzz/Package.swift) into .build-fuzz/, makes seed corpora from real inputs (dumps of the
# leaky.c fixture under jemalloc, the task samples, console JSON printed by protobuf's printer), fuzzes each
# parser for SECONDS, and prints one line per parser: executions, time, speed, coverage, corpus, the slowest
# input, peak memory, findings.
# The grown corpus stays in .build-fuzz/corpus/PARSER for the next run; crashes, timeouts and out-of-memory
# inputs go to .build-fuzz/findings/PARSER/. Exit status 1 when a run found something.
#
# Environment: FUZZ_TIMEOUT (seconds per input, default 5), FUZZ_RSS_MB (memory limit, default 2048),
# FUZZ_MALLOC_MB (largest single allocation, default 512), FUZZ_FLAGS (more libFuzzer flags).
# Needs what the tests need: gcc and libjemalloc-dev for the heap seeds, python3 with protobuf and grpcio-tools
# for the console seeds (without them those seeds are skipped with a warning).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch="$root/.build-fuzz"
fixtures="$root/Sources/ProfhistTestSupport/Fixtures"
parsers=(heap console taskdump recording)

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }

target=${1:-all}
shift || true
case "$target" in
    all) selected=("${parsers[@]}") ;;
    heap | console | taskdump | recording) selected=("$target") ;;
    *) usage ;;
esac

# Every module gets ASan and libFuzzer's coverage (the `-sanitize=fuzzer` set, spelled out: see Package.swift).
echo "building the harnesses (release, ASan, coverage) in $scratch ..." >&2
(cd Fuzz && swift build -c release --sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,indirect-calls,inline-8bit-counters,pc-table \
    --scratch-path "$scratch" 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol" >&2) || {
    echo "error: the harness build failed" >&2
    exit 1
}
bin="$scratch/release"
# The Swift runtime's own crash backtracer takes minutes on these 50 MB binaries; libFuzzer and ASan print the
# stack of a crash themselves.
export SWIFT_BACKTRACE=enable=no

# Reproduce mode: run the harness on given inputs.
if [ $# -gt 0 ] && ! [[ "$1" =~ ^[0-9]+$ ]]; then
    [ "$target" != all ] || usage
    exec "$bin/fuzz-$target" "$@"
fi
seconds=${1:-60}

# MARK: - Seeds, remade for each run (cheap) so they follow the fixtures; per parser, so runs of different
# parsers can go on side by side.
seeds="$scratch/seeds"

make_heap_seeds() {
    local out="$1" work="$scratch/seed-work"
    rm -rf "$work" && mkdir -p "$work/out"
    # A minimal dump of each format, so the fuzzer starts from short inputs too.
    printf 'heap_v2/524288\n  t*: 1: 64 [0: 0]\n  t0: 1: 64 [0: 0] main\n@ 0x1 0x2\n  t*: 1: 64 [0: 0]\n  t0: 1: 64 [0: 0]\n\nMAPPED_LIBRARIES:\n55a0-55b0 r-xp 00000000 fe:00 1234 /usr/bin/prog\n' >"$out/small.heap"
    printf 'heap profile: 1: 64 [1: 64] @ heap/1048576\n1: 64 [1: 64] @ 0x1 0x2\n\nMAPPED_LIBRARIES:\n55a0-55b0 r-xp 00000000 fe:00 1234 /usr/bin/prog\n' >"$out/small-legacy.heap"
    if ! gcc -O1 -g -fno-omit-frame-pointer "$fixtures/leaky.c" -o "$work/leaky" -ljemalloc -lpthread 2>"$work/gcc.log"; then
        echo "warning: cannot build leaky.c against jemalloc (apt-get install libjemalloc-dev); heap seeds are hand-made only" >&2
        return
    fi
    # Real dumps: sampled, with accumulated counts (the second count pair), unsampled.
    MALLOC_CONF=prof:true,lg_prof_sample:10 "$work/leaky" "$work/out/run" 2 64 >/dev/null
    MALLOC_CONF=prof:true,prof_accum:true,lg_prof_sample:12 "$work/leaky" "$work/out/accum" 1 16 >/dev/null
    MALLOC_CONF=prof:true,lg_prof_sample:0 "$work/leaky" "$work/out/exact" 1 4 >/dev/null
    cp "$work/out/run.0.heap" "$work/out/run.1.heap" "$work/out/accum.0.heap" "$work/out/exact.0.heap" "$out/"
    # The legacy one-line-per-stack format, converted from a real dump as the parser tests do.
    awk 'maps { print; next }
         /^MAPPED_LIBRARIES:/ { maps = 1; print ""; print; next }
         /^@ / { stack = $0; next }
         /^ *t\*:/ && stack != "" { sub(/^ *t\*: */, ""); print $0 " " stack; stack = "" }
         BEGIN { print "heap profile: 1: 1 [0: 0] @ heap_v2/1024" }' "$work/out/run.0.heap" >"$out/legacy.heap"
}

make_console_seeds() {
    local out="$1"
    cp "$fixtures/tasks/updates.pretty.json" "$fixtures/tasks/updates.jsonl" "$fixtures/tasks/task.emit-defaults.json" "$out/"
    for framing in pretty lines; do
        python3 "$fixtures/console/make_updates.py" Fuzz/Seeds/console-scenario.json --framing "$framing" \
            >"$out/scenario.$framing.json" 2>/dev/null || {
            rm -f "$out/scenario.$framing.json"
            echo "warning: make_updates.py failed (python3 -m pip install protobuf grpcio-tools); console seeds are the samples only" >&2
            return
        }
    done
}

make_taskdump_seeds() {
    cp "$fixtures/tasks/taskdump.tokio-1.53.1.txt" "$fixtures/tasks/taskdump.tokio-pre-1.52.4-format.txt" "$1/"
}

make_recording_seeds() {
    cp "$fixtures/tasks/console-record.replica.jsonl" "$1/"
}

# MARK: - Fuzzing
printf '%-10s %12s %8s %8s %7s %7s %7s %8s %7s %s\n' parser execs seconds exec/s cov ft corpus slowest rss findings
status=0
for parser in "${selected[@]}"; do
    corpus="$scratch/corpus/$parser"
    findings="$scratch/findings/$parser"
    log="$scratch/logs/$parser.$(date -u +%Y%m%dT%H%M%SZ).log"
    mkdir -p "$corpus" "$findings" "$(dirname "$log")"
    rm -rf "${seeds:?}/$parser" && mkdir -p "$seeds/$parser"
    "make_${parser}_seeds" "$seeds/$parser"
    before=$(find "$findings" -type f | wc -l)
    # -timeout: a hang is an input that takes seconds (real dumps parse in milliseconds); -malloc_limit_mb: no
    # input of a few KiB may ask for hundreds of MiB at once. ASan keeps no allocation stacks while fuzzing
    # (1.6x the speed); reproducing a finding with `Fuzz/run.sh PARSER FILE` shows them.
    started=$SECONDS
    set +e
    # shellcheck disable=SC2086
    ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}" "$bin/fuzz-$parser" "$corpus" "$seeds/$parser" \
        -dict="Fuzz/Dictionaries/$parser.dict" -max_total_time="$seconds" \
        -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -malloc_limit_mb="${FUZZ_MALLOC_MB:-512}" \
        -artifact_prefix="$findings/" -print_final_stats=1 ${FUZZ_FLAGS:-} >"$log" 2>&1
    code=$?
    set -e
    after=$(find "$findings" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    elapsed=$((SECONDS - started))
    slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    units=$(find "$corpus" -type f | wc -l)
    printf '%-10s %12s %8s %8s %7s %7s %7s %8s %7s %s\n' "$parser" "${execs:-?}" "${elapsed:-?}" "${speed:-?}" \
        "${cov:-?}" "${ft:-?}" "$units" "${slowest:-?}s" "${rss:-?}MB" "$((after - before)) new ($after in $findings)"
    if [ "$code" -ne 0 ] || [ "$after" -gt "$before" ]; then
        status=1
        echo "  libFuzzer exited $code; log: $log" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*Fatal error|artifact_prefix|Test unit written)' "$log" | head -8 | sed 's/^/  /' >&2
        echo "  reproduce: Fuzz/run.sh $parser FILE" >&2
    fi
done
exit $status
