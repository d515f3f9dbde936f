#!/usr/bin/env bash
# The same gate as a plain shell script, for any CI: run the tests with heap profiling, ingest the dumps
# under the commit's name, and let `profhist check` decide. Exit status: 0 pass, 1 growth, 2 undecided.
#
#   PROFHIST_DB=/ci/cache/profhist.db ./ci-memory-check.sh ./build/service --self-test
#
# Keep $PROFHIST_DB between CI runs (a cache or an artifact); a missing store just starts the history
# (the first check is undecided: exit 2, which this script turns into a pass).
#
# Branches: BRANCH (default: what profhist reads from the CI's variables, e.g. GitLab's
# CI_MERGE_REQUEST_SOURCE_BRANCH_NAME or CI_COMMIT_REF_NAME, else main) is the build's branch; for a merge or pull
# request set START_POINT to its target branch (GitLab: CI_MERGE_REQUEST_TARGET_BRANCH_NAME), so the build is
# judged against that branch's builds up to the fork, then the request's earlier builds:
#
#   BRANCH=feature-x START_POINT=main ./ci-memory-check.sh ./build/service --self-test
#   profhist gc --branch feature-x       # when the request is merged or closed
set -euo pipefail
program=$1
shift
build=${BUILD:-$(git rev-parse --short HEAD)}
runs=${RUNS:-3}
start_point=${START_POINT:-${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-}}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for run in $(seq 1 "$runs"); do
    MALLOC_CONF="prof:true,prof_final:true,lg_prof_sample:${LG_PROF_SAMPLE:-17},prof_prefix:$out/run$run" \
        "$program" "$@"
    profhist ingest "$out"/run"$run".*.heap --build "$build" --run "run$run" --binary "$program" --quiet \
        ${BRANCH:+--branch "$BRANCH"} ${start_point:+--start-point "$start_point"}
done

status=0
profhist check --build "$build" ${ACCEPT_FILE:+--accept-file "$ACCEPT_FILE"} \
    ${SUMMARY:+--summary "$SUMMARY"} || status=$?
case $status in
    0) echo "memory check passed for $build" ;;
    1) echo "memory check FAILED for $build: see above"; exit 1 ;;
    2) echo "memory check undecided for $build (not enough history yet)"; exit 0 ;;
    *) exit "$status" ;;
esac
