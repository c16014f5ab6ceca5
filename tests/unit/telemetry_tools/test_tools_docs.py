"""docs/telemetry.md is up to date: its tables match the schema and tag constants, and every
worked example, re-run from the repository root, prints exactly what the page shows."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from telemetry_tool_helpers import REPO

from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    ANNEAL_KEYS,
    BASELINE_KEYS,
    BC_KEYS,
    HEALTH_KEYS,
    KPI_KEYS,
    REQUIRED_V10_KEYS,
    REQUIRED_V11_KEYS,
    TOWNLET_EXTRA_KEYS,
    TelemetryRecord,
)
from townlet.telemetry.summary_values import LATEST_KEYS
from townlet.telemetry.tags import LAYOUT_CHARTS, NDJSON_TO_TB_TAG, NEGATED_TB_TAGS
from townlet.telemetry.watch import RULES

DOC = REPO / "docs" / "telemetry.md"
TEXT = DOC.read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text under a ``## title`` heading, up to the next ``## `` heading."""
    start = TEXT.index(f"\n## {title}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end != -1 else len(TEXT)]


def _rows(text: str) -> list[list[str]]:
    """Cells of the markdown table rows in ``text`` (header and separator rows dropped)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return [row for row in rows if row[0] not in ("key", "NDJSON key", "chart", "option")]


def _code(cell: str) -> str:
    return cell.split("`")[1]


def test_schema_table_lists_every_key_with_its_version() -> None:
    schema = _section("Schema")
    ppo, bc = schema.split("BC records")
    expected = {key: "1.0" for key in REQUIRED_V10_KEYS}
    expected |= dict.fromkeys(HEALTH_KEYS, "1.0 (legacy†)")
    expected |= dict.fromkeys(REQUIRED_V11_KEYS, "1.1")
    expected |= dict.fromkeys(ALWAYS_WRITTEN_KEYS, "written by townlet")
    expected |= dict.fromkeys(BASELINE_KEYS, "optional")
    expected |= dict.fromkeys(ANNEAL_KEYS, "anneal")
    expected |= dict.fromkeys((*TOWNLET_EXTRA_KEYS, "approx_kl"), "townlet extra")
    expected |= dict.fromkeys(KPI_KEYS, "kpi")
    rows = _rows(ppo)
    assert {_code(row[0]): row[3] for row in rows} == expected
    assert len(rows) == len(expected)  # no key twice
    for row in rows:
        field = TelemetryRecord.model_fields.get(_code(row[0]).replace(".", "_"))
        is_text = field is not None and "float" not in str(field.annotation)
        assert row[1] == ("string" if is_text else "float"), row
        assert row[2], row  # every key has a meaning
    assert {_code(row[0]) for row in _rows(bc)} == {"record", *BC_KEYS}


def test_tag_table_is_the_tag_map() -> None:
    rows = _rows(_section("TensorBoard").split("custom-scalars layout")[0])
    table = {row[0]: _code(row[1]) for row in rows}
    expected = {f"`{key}`": tag for key, tag in NDJSON_TO_TB_TAG.items()}
    expected |= {f"`{key}` (negated)": tag for key, tag in NEGATED_TB_TAGS.items()}
    assert table == expected


def test_layout_table_is_the_dashboard() -> None:
    rows = _rows(_section("TensorBoard").split("custom-scalars layout")[1])
    charts = [(row[0], tuple(re.findall(r"`([^`]+)`", row[1]))) for row in rows]
    assert charts == list(LAYOUT_CHARTS)


def test_tool_reference_tables_are_complete() -> None:
    tools = _section("Tools")
    options = {_code(row[0]).split()[0] for row in _rows(tools) if row[0].startswith("`--")}
    assert options == {"--" + r.option.replace("_", "-") for r in RULES} | {"--anneal-loss-max"}
    latest_row = next(row for row in _rows(tools) if row[0] == "`latest`")
    assert re.findall(r"[a-z_]+", latest_row[2].split(" for ")[1]) == list(LATEST_KEYS)


def _examples() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$ `` line of the console blocks."""
    examples: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", TEXT, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *output = chunk.rstrip("\n").split("\n")
            examples.append((command, output))
    return examples


def test_every_tool_has_a_worked_example() -> None:
    commands = " ".join(command for command, _ in _examples())
    for tool in ("validate", "watch", "summary", "plot"):
        assert f"python -m townlet.telemetry {tool} " in commands


@pytest.mark.parametrize(("command", "expected"), _examples(), ids=[c[:60] for c, _ in _examples()])
def test_worked_example_output_is_real(
    upstream_samples: Path, tmp_path: Path, command: str, expected: list[str]
) -> None:
    if " plot " in command:
        pytest.importorskip("matplotlib")
    # Run the doc's text as written, with this interpreter and a scratch folder for files.
    # Scratch paths first, so an interpreter that lives under /tmp is left alone.
    runnable = command.replace("/tmp/", f"{tmp_path}/")
    runnable = runnable.replace("python ", f"{shlex.quote(sys.executable)} ", 1)
    proc = subprocess.run(
        ["bash", "-c", runnable],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        check=False,
    )
    got = [line.rstrip() for line in proc.stdout.replace(f"{tmp_path}/", "/tmp/").splitlines()]
    assert got == [line.rstrip() for line in expected]
