"""``report_errors``: HYDRA_FULL_ERROR=1 brings tracebacks back, never for an interrupted run."""

from __future__ import annotations

import signal

import pytest

from townlet.cli import report_errors
from townlet.errors import ConfigError, TownletError
from townlet.signals import RunInterrupted


def _failing(err: TownletError) -> None:
    raise err


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_run_keeps_its_line_and_code_with_full_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], signum: int, code: int
) -> None:
    monkeypatch.setenv("TOWNLET_USER_FULL_ERROR", "1")
    with pytest.raises(SystemExit) as exited:
        report_errors(_failing)(RunInterrupted("interrupted; resume with: python -m ...", signum))
    assert exited.value.code == code
    assert capsys.readouterr().err == "interrupted; resume with: python -m ...\n"


def test_other_errors_raise_with_full_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOWNLET_USER_FULL_ERROR", "1")
    with pytest.raises(ConfigError):
        report_errors(_failing)(ConfigError("data.ticks=0 — must be at least 1"))


def test_errors_are_one_line_without_full_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOWNLET_USER_FULL_ERROR", "0")
    with pytest.raises(SystemExit) as exited:
        report_errors(_failing)(ConfigError("data.ticks=0 — must be at least 1"))
    assert exited.value.code == 2
    assert capsys.readouterr().err == "config error: data.ticks=0 — must be at least 1\n"
