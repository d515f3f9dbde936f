#!/usr/bin/env python3
"""profhist benchmarks, side by side with jeprof, on real jemalloc dumps of Benchmarks/corpus/branchy.c.

    Benchmarks/bench.py                      # everything (about 45 minutes on a 2-core machine, most of it
                                             # the corpus program writing 1,000 dumps of a growing leak)
    Benchmarks/bench.py --history 100        # a shorter history
    Benchmarks/bench.py --guard              # the CI regression guard (about 30 s): fails on a gross regression

Prints, for this machine: ingest time and peak RSS of a 2^14-path dump (16,386 stacks) with a cold and a warm
symbol cache next to `jeprof --collapsed` on the same dump; how ingest scales with N; `top` over 100 / 300 /
1,000 snapshots next to one `jeprof --text --base`; store bytes per sample row; `export` memory. Times are
medians of --runs runs (jeprof: of --jeprof-runs). Everything is built and written under --work (default
/tmp/profhist-bench), never in the repository.

Set PROFHIST to use a given profhist binary instead of building `swift build -c release --static-swift-stdlib`
(the README's install command).
"""
import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Benchmarks", "corpus", "branchy.c")
BASELINE = os.path.join(ROOT, "Benchmarks", "baseline.json")


def run(argv, env=None, stdout=subprocess.DEVNULL, check=True):
    """Runs argv; returns (seconds, peak RSS in MiB, stdout bytes or None)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    out = None
    if stdout == subprocess.PIPE:
        out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if check and process.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({process.returncode}):\n{err.decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024.0, out


def median_run(argv, runs, prepare=None, env=None):
    """Median seconds and max peak RSS (MiB) of `runs` runs; `prepare` runs before each (not timed)."""
    times, peaks = [], []
    for _ in range(runs):
        if prepare:
            prepare()
        seconds, rss, _ = run(argv, env=env)
        times.append(seconds)
        peaks.append(rss)
    return statistics.median(times), max(peaks)


def remove_store(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def copy_store(source, target):
    remove_store(target)
    shutil.copyfile(source, target)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        os.makedirs(self.work, exist_ok=True)
        self.profhist = os.environ.get("PROFHIST") or self.build_profhist()
        self.program = os.path.join(self.work, "branchy")
        run(["gcc", "-O1", "-g", "-fno-omit-frame-pointer", CORPUS, "-o", self.program, "-ljemalloc"])
        self.jeprof = shutil.which("jeprof")
        self.results = {}

    def build_profhist(self):
        print("building profhist (swift build -c release --static-swift-stdlib) ...", file=sys.stderr)
        build = ["swift", "build", "-c", "release", "--static-swift-stdlib", "--package-path", ROOT]
        subprocess.run(build, check=True, stdout=subprocess.DEVNULL)
        path = subprocess.run(build + ["--show-bin-path"],
                              check=True, capture_output=True, text=True).stdout.strip()
        return os.path.join(path, "profhist")

    def dumps(self, n, seed=1, count=2, leaked=0, prefix=None):
        """Runs the corpus program: `count` dumps of 2^n paths; returns their paths."""
        prefix = prefix or os.path.join(self.work, f"n{n}-s{seed}")
        env = dict(os.environ, MALLOC_CONF="prof:true,lg_prof_sample:0")
        run([self.program, str(n), str(seed), prefix, str(count), "2", str(leaked)], env=env)
        return [f"{prefix}.{d}.heap" for d in range(count)]

    def ingest_argv(self, db, build, files, run_name=None):
        argv = [self.profhist, "ingest", "--quiet", "--db", db, "--build", build, "--binary", self.program]
        if run_name:
            argv += ["--run", run_name]
        return argv + files

    # -- ingest vs jeprof --collapsed -------------------------------------------------------------------------

    def ingest(self, n, runs, jeprof_runs):
        first, second = self.dumps(n)
        stacks = sum(1 for line in open(first, "rb") if line.startswith(b"@"))
        size = os.path.getsize(first) / 1e6
        db = os.path.join(self.work, "ingest.db")
        cold = median_run(self.ingest_argv(db, "b1", [first]), runs, prepare=lambda: remove_store(db))
        # Warm: the store already holds the binary's symbols and the stacks (the dump before, same program).
        warm_base = os.path.join(self.work, "warm-base.db")
        remove_store(warm_base)
        run(self.ingest_argv(warm_base, "b0", [first]))
        warm = median_run(self.ingest_argv(db, "b1", [second]), runs, prepare=lambda: copy_store(warm_base, db))
        theirs = None
        if self.jeprof and jeprof_runs > 0:
            theirs = median_run([self.jeprof, "--collapsed", self.program, first], jeprof_runs)
        row = {"n": n, "stacks": stacks, "dump_mb": round(size, 2),
               "cold_s": round(cold[0], 4), "cold_rss_mib": round(cold[1], 1),
               "warm_s": round(warm[0], 4), "warm_rss_mib": round(warm[1], 1)}
        if theirs:
            row.update({"jeprof_s": round(theirs[0], 3), "jeprof_rss_mib": round(theirs[1], 1),
                        "ratio_cold": round(theirs[0] / cold[0], 1), "ratio_warm": round(theirs[0] / warm[0], 1)})
        return row

    # -- history: top and export ------------------------------------------------------------------------------

    def history(self, sizes, runs, jeprof_runs, per_build=5, n=14):
        """Builds one store of max(sizes) snapshots (builds of `per_build` runs each; one path in 64 leaks 16 more
        objects in each build from build 10 on), copying it aside when it reaches each size; times `top` and
        `export` on each copy, and counts the stacks `top` flags (regressed_at set) and how many of them leak."""
        rows = []
        db = os.path.join(self.work, "history.db")
        remove_store(db)
        target = max(sizes)
        builds = (target + per_build - 1) // per_build
        done = 0
        started = time.perf_counter()
        base_pair = None
        for b in range(builds):
            files = []
            for r in range(per_build):
                prefix = os.path.join(self.work, f"h-b{b}-r{r}")
                files += self.dumps(n, seed=b * per_build + r + 100, count=1, leaked=16 * max(0, b - 9), prefix=prefix)
            for r, path in enumerate(files):
                run(self.ingest_argv(db, f"b{b:04d}", [path], run_name=f"r{r}"))
            if b == 0:
                base_pair = files[0]
            if b == builds - 1:
                pair = (base_pair, files[0])
            for path in files:
                if path not in (base_pair, files[0] if b == builds - 1 else None):
                    os.remove(path)
            done += per_build
            elapsed = time.perf_counter() - started
            print(f"  history: {done}/{target} snapshots ingested ({elapsed:.0f} s)", file=sys.stderr)
            if done in sizes:
                copy = os.path.join(self.work, f"history-{done}.db")
                run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"])
                copy_store(db, copy)
        theirs = None
        if self.jeprof and jeprof_runs > 0:
            theirs = median_run([self.jeprof, "--text", "--base", pair[0], self.program, pair[1]], jeprof_runs)
        for size in sizes:
            copy = os.path.join(self.work, f"history-{size}.db")
            top = median_run([self.profhist, "top", "--db", copy], runs)
            # What it found: the stacks with a change point (regressed_at), of all ranked, and how many of them are
            # leaking paths (one path in 64 of branchy.c: its leaf frames are the l*_a branch all the way down).
            _, _, csv_out = run([self.profhist, "top", "--db", copy, "--all", "--limit", "0", "--format", "csv"],
                                stdout=subprocess.PIPE)
            flagged = [r for r in csv.DictReader(io.StringIO(csv_out.decode())) if r["regressed_at"]]
            leaking = sum(1 for r in flagged if "l0_a;l1_a;l2_a;l3_a;l4_a;l5_a" in r["stack"])
            # Every sample row of the history as CSV, to /dev/null: memory must not grow with the history.
            export = median_run([self.profhist, "export", "--db", copy, "--format", "csv", "--metric", "inuse_space"], 1)
            rows_count, sample_bytes = self.sample_bytes(copy)
            row = {"snapshots": size, "top_s": round(top[0], 3), "top_rss_mib": round(top[1], 1),
                   "flagged": len(flagged), "flagged_leaking": leaking,
                   "export_s": round(export[0], 2), "export_rss_mib": round(export[1], 1),
                   "sample_rows": rows_count, "bytes_per_row": round(sample_bytes / rows_count, 2),
                   "store_mb": round(os.path.getsize(copy) / 1e6, 1)}
            if theirs:
                row.update({"jeprof_base_s": round(theirs[0], 3), "ratio": round(theirs[0] / top[0], 1)})
            rows.append(row)
        return rows

    def sample_bytes(self, db):
        _, _, out = run(["sqlite3", db, "SELECT count(*) FROM sample; "
                         "SELECT sum(pgsize) FROM dbstat WHERE name = 'sample';"], stdout=subprocess.PIPE)
        count, size = out.decode().split()
        return int(count), int(size)


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def table(rows, columns):
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    for r in rows:
        lines.append("  ".join(str(r.get(c, "")).rjust(w) for c, w in zip(columns, widths)))
    return "\n".join(lines)


def guard(bench, args):
    """A small run for CI: fails only when a ratio to jeprof falls below a third of the recorded one."""
    baseline = json.load(open(BASELINE))
    row = bench.ingest(12, runs=args.runs, jeprof_runs=1)
    print(table([row], list(row.keys())))
    hist = bench.history([20], runs=args.runs, jeprof_runs=1, per_build=5, n=12)[0]
    print(table([hist], list(hist.keys())))
    if "ratio_cold" not in row or "ratio" not in hist:
        print("guard: jeprof is not installed; only absolute times are printed", file=sys.stderr)
        return
    failures = []
    for name, value, recorded in [("ingest (N=12, cold) vs jeprof --collapsed", row["ratio_cold"], baseline["ingest_n12_ratio_cold"]),
                                  ("top (20 snapshots, N=12) vs jeprof --text --base", hist["ratio"], baseline["top_n12_20_ratio"])]:
        floor = recorded / 3
        verdict = "ok" if value >= floor else "REGRESSION"
        print(f"guard: {name}: {value}x (recorded {recorded}x, fails below {floor:.1f}x): {verdict}")
        if value < floor:
            failures.append(name)
    if failures:
        sys.exit(f"guard: gross regression in {'; '.join(failures)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/profhist-bench", help="where dumps and stores go")
    parser.add_argument("--runs", type=int, default=5, help="runs per profhist measurement (median)")
    parser.add_argument("--jeprof-runs", type=int, default=3, help="runs per jeprof measurement (median)")
    parser.add_argument("--sizes", default="10,12,14,16", help="N values for the ingest scaling table")
    parser.add_argument("--history", default="100,300,1000", help="snapshot counts for top/export")
    parser.add_argument("--guard", action="store_true", help="the CI regression guard only")
    parser.add_argument("--json", help="also write the results as JSON here")
    args = parser.parse_args()

    bench = Bench(args)
    print(f"machine: {machine()}; profhist: {bench.profhist}; jeprof: {bench.jeprof or 'not installed'}")
    if args.guard:
        guard(bench, args)
        return

    results = {"machine": machine()}
    print("\n== ingest of one dump, 2^N paths (lg_prof_sample:0), vs jeprof --collapsed ==")
    rows = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        rows.append(bench.ingest(n, args.runs, args.jeprof_runs))
        print(table(rows[-1:], list(rows[-1].keys())), file=sys.stderr)
    results["ingest"] = rows
    print(table(rows, ["n", "stacks", "dump_mb", "cold_s", "cold_rss_mib", "warm_s", "warm_rss_mib",
                       "jeprof_s", "jeprof_rss_mib", "ratio_cold", "ratio_warm"]))

    sizes = [int(x) for x in args.history.split(",") if x]
    if sizes:
        print("\n== top and export over a history of N=14 snapshots (5 runs per build), vs one jeprof --text --base ==")
        hist = bench.history(sizes, args.runs, args.jeprof_runs)
        results["history"] = hist
        print(table(hist, ["snapshots", "top_s", "top_rss_mib", "jeprof_base_s", "ratio", "flagged", "flagged_leaking",
                           "export_s", "export_rss_mib", "sample_rows", "bytes_per_row", "store_mb"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
