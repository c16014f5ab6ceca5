"""Benchmark: validate and summary on a generated 1,000,000-record telemetry log; long lines.

    python scripts/bench/telemetry_tools.py [--records N] [--dir DIR] [--keep] [--long-lines-only]

Writes a log of realistic townlet records (every key townlet writes, random values, alternating
replay/rollout) into a temporary folder, then runs each tool in its own subprocess on it and
prints the time the tool took, the whole process's wall time and its peak RSS (ru_maxrss, which
includes the interpreter and its imports). The targets (DESIGN §7.5 / the tools issue) are under
60 s and under 200 MB per tool on 1,000,000 records. Validate is also timed with the standard
json module forced, since orjson (used when installed) is optional.

The long-line case times validate, watch and summary on logs of one record whose line is 50 KB,
5 MB and 50 MB long, and prints the time per MB: reading is linear when that figure stays flat as
the line grows 1,000-fold (a reader that re-joins a growing line after every chunk read would
take about 100 times longer per MB at 50 MB than at 50 KB). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from townlet.telemetry.schema import (  # noqa: E402
    ALWAYS_WRITTEN_KEYS,
    BASELINE_KEYS,
    REQUIRED_KEYS,
    TOWNLET_EXTRA_KEYS,
)

# Runs one tool in-process with stdout discarded and reports its time and peak RSS as JSON.
RUNNER = """
import contextlib, json, os, resource, sys, time
from importlib import import_module
report, parser, module, *argv = sys.argv[1:]
if parser == "json":
    import townlet.telemetry.streams as streams
    streams._orjson = None
main = import_module("townlet.telemetry." + module).main
start = time.perf_counter()
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    code = main(argv)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
with open(report, "w") as handle:
    json.dump({"code": code, "seconds": seconds, "rss": rss}, handle)
"""


def make_log(path: Path, records: int, seed: int = 0) -> None:
    """``records`` lines cycling through 1,000 random records; the stream counters advance."""
    rng = random.Random(seed)
    numeric = [k for k in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS + BASELINE_KEYS if k != "data_mode"]
    numeric += [k for k in TOWNLET_EXTRA_KEYS if k not in ("run_id", "strategy", "scenario")]
    pool = []
    for i in range(1000):
        record: dict[str, object] = {key: rng.uniform(-5.0, 5.0) for key in numeric}
        record.update(telemetry_version=1.1, data_mode=("replay", "rollout")[i % 2])
        record.update(run_id="3f2a9c1b7d4e", strategy="ppo", scenario="queue_conflict")
        pool.append(record)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(records):
            record = pool[i % len(pool)]
            record.update(epoch=float(i + 1), log_stream_offset=float(i + 1))
            record.update(steps=256.0 * (i + 1), agent_steps=256.0 * (i + 1))
            handle.write(json.dumps(record) + "\n")


def make_long_line_log(path: Path, size: int) -> None:
    """One townlet record whose ``run_id`` makes the line ``size`` bytes long (give or take)."""
    record: dict[str, object] = {key: 0.5 for key in REQUIRED_KEYS if key != "data_mode"}
    record.update(telemetry_version=1.1, data_mode="replay", run_id="")
    padding = size - len(json.dumps(record))
    record["run_id"] = "x" * max(padding, 0)
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")


LONG_LINE_SIZES = (50_000, 5_000_000, 50_000_000)


def measure_long_lines(parser: str, workdir: Path) -> None:
    """Each tool on a 50 KB, 5 MB and 50 MB line; seconds per MB should not grow with the line."""
    for size in LONG_LINE_SIZES:
        log = workdir / f"line_{size}.ndjson"
        make_long_line_log(log, size)
        for module in ("validate", "watch", "summary"):
            result = run_tool(parser, module, [str(log)], workdir)
            if result is None:
                print(f"{module} on a {size / 1e6:g} MB line: failed")
                continue
            seconds = result["seconds"]
            print(
                f"{module:<9} one {size / 1e6:>5g} MB line  exit {result['code']}  "
                f"tool {seconds:7.3f} s  {seconds / (size / 1e6):7.4f} s/MB"
            )
        log.unlink()


def run_tool(parser: str, module: str, argv: list[str], workdir: Path) -> dict[str, Any] | None:
    """Run one tool in its own process; its exit code, seconds and peak RSS (None: it failed)."""
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(report), parser, module, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not report.exists():
        print(f"{module} failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
        return None
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def measure(label: str, parser: str, module: str, argv: list[str], workdir: Path) -> None:
    start = time.perf_counter()
    result = run_tool(parser, module, argv, workdir)
    wall = time.perf_counter() - start
    if result is None:
        return
    seconds, rss_mb = result["seconds"], result["rss"] / 2**20
    verdict = "ok" if seconds < 60 and rss_mb < 200 else "OVER TARGET"
    print(
        f"{label:<28} exit {result['code']}  tool {seconds:7.2f} s  process {wall:7.2f} s  "
        f"peak RSS {rss_mb:6.1f} MB  {verdict}"
    )


def fast_parser() -> str:
    """``orjson`` when it is installed (the tools then use it), else ``json``."""
    try:
        import orjson  # noqa: F401
    except ImportError:
        return "json"
    return "orjson"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="where to write the log (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument(
        "--long-lines-only", action="store_true", help="only the 50 KB / 5 MB / 50 MB line case"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="townlet-bench-", dir=args.dir))
    try:
        if not args.long_lines_only:
            measure_long_log(args.records, workdir)
        measure_long_lines(fast_parser(), workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def measure_long_log(records: int, workdir: Path) -> None:
    """Validate and summary on a log of ``records`` records, each in its own process."""
    log = workdir / "telemetry.ndjson"
    start = time.perf_counter()
    make_log(log, records)
    size_mb = log.stat().st_size / 2**20
    print(
        f"generated {records:,} records ({size_mb:,.0f} MB) in "
        f"{time.perf_counter() - start:.1f} s: {log}"
    )
    fast = fast_parser()
    measure(f"validate ({fast})", fast, "validate", [str(log)], workdir)
    if fast != "json":
        measure("validate (stdlib json)", "json", "validate", [str(log)], workdir)
    measure(f"summary ({fast})", fast, "summary", [str(log)], workdir)
    measure(f"summary --last 100 ({fast})", fast, "summary", [str(log), "--last", "100"], workdir)


if __name__ == "__main__":
    sys.exit(main())
