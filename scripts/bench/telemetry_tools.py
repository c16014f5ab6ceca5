"""Benchmark: validate and summary on a generated 1,000,000-record telemetry log.

    python scripts/bench/telemetry_tools.py [--records N] [--dir DIR] [--keep]

Writes a log of realistic townlet records (every key townlet writes, random values, alternating
replay/rollout) into a temporary folder, then runs each tool in its own subprocess on it and
prints the time the tool took, the whole process's wall time and its peak RSS (ru_maxrss, which
includes the interpreter and its imports). The targets (DESIGN §7.5 / the tools issue) are under
60 s and under 200 MB per tool on 1,000,000 records. Validate is also timed with the standard
json module forced, since orjson (used when installed) is optional. Nothing is asserted.
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


def measure(label: str, parser: str, module: str, argv: list[str], workdir: Path) -> None:
    report = workdir / "report.json"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(report), parser, module, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not report.exists():
        print(f"{label:<28} failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
        return
    result = json.loads(report.read_text())
    seconds, rss_mb = result["seconds"], result["rss"] / 2**20
    verdict = "ok" if seconds < 60 and rss_mb < 200 else "OVER TARGET"
    print(
        f"{label:<28} exit {result['code']}  tool {seconds:7.2f} s  process {wall:7.2f} s  "
        f"peak RSS {rss_mb:6.1f} MB  {verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="where to write the log (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="townlet-bench-", dir=args.dir))
    try:
        log = workdir / "telemetry.ndjson"
        start = time.perf_counter()
        make_log(log, args.records)
        size_mb = log.stat().st_size / 2**20
        print(
            f"generated {args.records:,} records ({size_mb:,.0f} MB) in "
            f"{time.perf_counter() - start:.1f} s: {log}"
        )
        try:
            import orjson  # noqa: F401

            fast = "orjson"
        except ImportError:
            fast = "json"
        measure(f"validate ({fast})", fast, "validate", [str(log)], workdir)
        if fast != "json":
            measure("validate (stdlib json)", "json", "validate", [str(log)], workdir)
        measure(f"summary ({fast})", fast, "summary", [str(log)], workdir)
        measure(
            f"summary --last 100 ({fast})", fast, "summary", [str(log), "--last", "100"], workdir
        )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
