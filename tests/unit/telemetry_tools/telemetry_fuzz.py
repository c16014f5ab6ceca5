"""Seeded random corruption of real telemetry logs, and a check that a tool survives each one.

A case is a few mutations (byte flips, truncation, duplicated or removed lines, huge integers,
huge lines, NaN/Infinity literals, deep nesting, invalid UTF-8, empty files, ...) applied to a
seed log: the older system's sample logs when present, and records townlet writes. Each tool's
``main`` runs in-process with ``HYDRA_FULL_ERROR=1``, so an unexpected exception escapes instead
of becoming an "internal error" line; :func:`run_case` returns the crashes it saw.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import traceback
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from telemetry_tool_helpers import REPO, record

from townlet.errors import TownletError

UPSTREAM_TELEMETRY = REPO.parent / "shared" / "upstream-samples" / "telemetry"
TOOLS = ("validate", "watch", "summary")
# Exit codes the tools document for a run that parsed its options: 0 ok, 1 any problem.
DOCUMENTED_EXITS = (0, 1)
NUMBER = re.compile(rb"(?<=: )-?[0-9][0-9.eE+-]*")
EXTREME_VALUES = (
    b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"5e-324", b"1e308", b"-1e308",
    b"0", b"-0.0", b"null", b"true", b'"1.0"', b"{}", b"[]", b'"\\ud800"',
)  # fmt: skip
BAD_BYTES = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf", b"\r", b"\x80\x80")
ANNEAL = {
    "anneal_cycle": 1.0, "anneal_stage": "ppo", "anneal_dataset": "q",
    "anneal_bc_accuracy": 0.5, "anneal_loss_baseline": 0.25, "anneal_bc_passed": 0.0,
}  # fmt: skip
BC = {"record": "bc", "epoch": 1.0, "accuracy": 0.5, "loss": 0.5, "val_accuracy": 0.5,
      "val_loss": 0.5, "prob_true_act": 0.5, "entropy": 0.5, "telemetry_version": 1.1}  # fmt: skip


def seed_logs() -> list[bytes]:
    """The logs mutations start from: upstream samples (when present) and townlet's records."""
    kpi = {"kpi.self_sufficiency": 0.75, "kpi.lateness_rate": 0.125, "agent_days": 8.0}
    ours = [
        [record(e, data_mode="rollout", baseline_reward_sum=-3.0) for e in (1, 2, 3)],
        [record(1, **ANNEAL), record(2, data_mode="rollout", **ANNEAL, **kpi), BC],
    ]
    logs = [b"".join(json.dumps(r).encode() + b"\n" for r in log) for log in ours]
    if UPSTREAM_TELEMETRY.is_dir():
        logs += [path.read_bytes() for path in sorted(UPSTREAM_TELEMETRY.glob("*.jsonl"))]
    return logs


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _duplicate_or_remove_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    if rng.random() < 0.5:
        lines.insert(index, lines[index])
    else:
        del lines[index]
    return b"\n".join(lines)


def _replace_number(rng: random.Random, data: bytes, make: Callable[[], bytes]) -> bytes:
    """Swap one random number of the log for ``make()``."""
    spans = [match.span() for match in NUMBER.finditer(data)]
    if not spans:
        return data + make()
    start, end = rng.choice(spans)
    return data[:start] + make() + data[end:]


def _huge_integer(rng: random.Random, data: bytes) -> bytes:
    # Past float range (310+ digits) and past Python's int-from-text limit (4,300 digits).
    digits = rng.choice((rng.randint(310, 4300), rng.randint(4301, 20_000)))
    sign = b"-" if rng.random() < 0.3 else b""
    return _replace_number(rng, data, lambda: sign + b"1" + b"7" * (digits - 1))


def _extreme_value(rng: random.Random, data: bytes) -> bytes:
    return _replace_number(rng, data, lambda: rng.choice(EXTREME_VALUES))


def _deep_nesting(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice((rng.randint(2, 100), rng.randint(900, 1100), rng.randint(10_000, 200_000)))
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    closed = rng.random() < 0.7
    nested = opener * depth + b"1" + (closer * depth if closed else b"")
    return _replace_number(rng, data, lambda: nested)


def _huge_line(rng: random.Random, data: bytes, limit: int) -> bytes:
    size = rng.randint(limit // 8, limit)
    line = rng.choice(
        (
            b'{"run_id": "' + b"x" * size + b'"}',  # a JSON object, valid
            b" " * size + b'{"epoch": 1.0}',  # whitespace before a record
            b"7" * size,  # a bare number
            b'{"a": "' + b"y" * size,  # unterminated
        )
    )
    lines = _lines(data)
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


def _invalid_utf8(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(BAD_BYTES) + data[at:]


def _empty(rng: random.Random, data: bytes) -> bytes:
    return rng.choice((b"", b"\n", b"\n \n\t\n", b"\r\n"))


def _line_endings(rng: random.Random, data: bytes) -> bytes:
    return rng.choice((data.replace(b"\n", b"\r\n"), data.rstrip(b"\n"), data + b"\n\n"))


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    _flip_bytes, _truncate, _duplicate_or_remove_line, _huge_integer, _extreme_value,
    _deep_nesting, _invalid_utf8, _empty, _line_endings,
)  # fmt: skip


def mutate(rng: random.Random, data: bytes, huge_line_limit: int) -> bytes:
    """One to three random mutations of ``data``; a huge line in one case out of twenty."""
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(MUTATIONS)(rng, data)
    if rng.random() < 0.05:
        data = _huge_line(rng, data, huge_line_limit)
    return data


def _baseline(rng: random.Random, folder: Path) -> Path:
    values = [0.0, -0.0, 5e-324, 1e308, -1e308, -3.0, 12.5]
    keys = ["baseline_reward_sum", "baseline_reward_mean", "baseline_sample_count"]
    path = folder / "baseline.json"
    path.write_text(json.dumps({key: rng.choice(values) for key in keys}))
    return path


def tool_args(rng: random.Random, tool: str, logs: list[Path], folder: Path) -> list[str]:
    """Arguments for ``tool`` on ``logs``: the options that reach the most code, at random."""
    args = [str(logs[0])]
    if tool == "validate":
        args = [str(log) for log in logs]
        if rng.random() < 0.5:
            args += ["--allow-legacy"]
        if rng.random() < 0.3:
            args += ["--baseline", str(_baseline(rng, folder)), "--relative"]
            args += ["--drift-threshold", rng.choice(("0", "25", "1e308"))]
    elif tool == "watch":
        args += rng.sample(["--json", "--kl-threshold=0", "--entropy-threshold=1e308",
                            "--queue-events-min=1", "--anneal-loss-max=0",
                            "--reward-corr-threshold=-1e308"], k=rng.randint(0, 4))  # fmt: skip
    else:
        args += ["--format", rng.choice(("text", "markdown", "json"))]
        if rng.random() < 0.3:
            args += ["--last", str(rng.randint(1, 5))]
        if rng.random() < 0.3:
            args += ["--baseline", str(_baseline(rng, folder))]
    return args


def run_tool(tool: str, args: list[str]) -> tuple[int, str, list[str]]:
    """``tool``'s exit code, stdout and stderr lines; any exception but a TownletError escapes."""
    main = import_module(f"townlet.telemetry.{tool}").main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except TownletError as exc:
            code = exc.exit_code
            print(exc, file=err)
    return code, out.getvalue(), err.getvalue().splitlines()


def _problems(tool: str, code: int, out: str, err: list[str], names: list[str]) -> list[str]:
    """What is wrong with a run's outcome: an undocumented exit, a message naming no file, or
    (validate) a log that got no verdict because an earlier one failed."""
    problems = []
    if tool == "validate":
        reported = out + "\n".join(err)  # "<log>:" so that LOG does not match LOG.1
        problems += [f"no verdict on {name}" for name in names[:2] if f"{name}:" not in reported]
    if code not in DOCUMENTED_EXITS:
        problems.append(f"exit code {code}")
    if code != 0 and not err:
        problems.append("failed without a message")
    for line in err:
        alert = tool == "watch" and line.startswith("epoch ")
        if not alert and not any(name in line for name in names):
            problems.append(f"message names no file: {line[:200]!r}")
    return problems


def run_case(seed: int, folder: Path, logs: list[bytes], huge_line_limit: int) -> list[str]:
    """Mutate, run every tool once, and return the crashes (empty when all went well)."""
    rng = random.Random(seed)
    case = folder / f"case{seed}"
    case.mkdir()
    base = case / "telemetry.ndjson"
    base.write_bytes(mutate(rng, rng.choice(logs), huge_line_limit))
    second = case / "telemetry.ndjson.1"  # the next file: validate's, or the rotated stream's
    second.write_bytes(mutate(rng, rng.choice(logs), huge_line_limit))
    crashes = []
    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        for tool in TOOLS:
            args = tool_args(rng, tool, [base, second], case)
            try:
                code, out, err = run_tool(tool, args)
            except Exception:  # any other exception is exactly what is sought
                crashes.append(f"seed {seed} {tool} {args[1:]}: {traceback.format_exc(limit=-3)}")
                continue
            names = [str(base), str(second), str(case / "baseline.json")]
            crashes += [f"seed {seed} {tool}: {p}" for p in _problems(tool, code, out, err, names)]
    finally:
        if previous is None:
            del os.environ["HYDRA_FULL_ERROR"]
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous
        shutil.rmtree(case)
    return crashes
