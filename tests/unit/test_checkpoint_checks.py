"""Checkpoints named by ckpt_path and strategy.init_from: one line saying what is expected."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from townlet.config import PolicyConfig
from townlet.errors import ConfigError
from townlet.policy.checkpoint import check_resume_checkpoint, load_policy_weights
from townlet.strategies.bc import BCModule

EXPECTED = "expected a checkpoint of a townlet training run, e.g. <run>/checkpoints/last.ckpt"
UNREADABLE = "torch.load(weights_only=True) cannot read it (truncated or not a torch file)"


def _module(hidden_dim: int = 16, map_shape: tuple[int, ...] = (2, 5, 5)) -> BCModule:
    return BCModule(
        policy=PolicyConfig(hidden_dim=hidden_dim).model_dump(),
        map_shape=list(map_shape),
        feature_dim=3,
        action_dim=4,
        batch_keys=["map", "features", "actions"],
    )


def _save(path: Path, module: BCModule, epochs: int = 2, **changes: Any) -> Path:
    """What ModelCheckpoint writes at the end of epoch ``epochs``, with ``changes`` applied."""
    progress = {"ready": epochs, "completed": epochs - 1, "started": epochs, "processed": epochs}
    blob: dict[str, Any] = {
        "epoch": epochs - 1,
        "global_step": 10 * epochs,
        "pytorch-lightning_version": "2.6.6",
        "state_dict": module.state_dict(),
        "loops": {"fit_loop": {"epoch_progress": {"total": progress, "current": progress}}},
        "callbacks": {},
        "optimizer_states": [{"state": {}, "param_groups": []}],
        "lr_schedulers": [],
        "hyper_parameters": dict(module.hparams),
    }
    blob.update(changes)
    torch.save({k: v for k, v in blob.items() if v is not None}, path)
    return path


class _RunsCode:
    """Pickles into a call of os.system: loading it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _resume_error(typed: str, module: BCModule | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        check_resume_checkpoint(typed, module or _module())
    assert caught.value.exit_code == 2
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"config error: ckpt_path={typed} — ")
    return text.split(" — ", 1)[1]


def test_a_checkpoint_of_the_same_network_passes_and_counts_its_epochs(tmp_path: Path) -> None:
    path = _save(tmp_path / "last.ckpt", _module(), epochs=3)
    assert check_resume_checkpoint(str(path), _module()) == 3


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (lambda good: os.urandom(4096), UNREADABLE),
        (lambda good: good[: len(good) // 2], UNREADABLE),
        (lambda good: b"", UNREADABLE),
    ],
    ids=["random-bytes", "truncated", "empty"],
)
def test_unreadable_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: Callable[[bytes], bytes],
    why: str,
) -> None:
    good = _save(tmp_path / "good.ckpt", _module()).read_bytes()
    (tmp_path / "bad.ckpt").write_bytes(content(good))
    monkeypatch.chdir(tmp_path)  # the message keeps the path as typed, relative here
    assert _resume_error("./bad.ckpt") == f"not a townlet checkpoint: {why}; {EXPECTED}"


def test_pickled_code_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "payload.ckpt"
    torch.save({"state_dict": _RunsCode(marker)}, path)
    assert _resume_error(str(path)) == (
        f"not a townlet checkpoint: it holds pickled Python objects, which are never loaded; "
        f"{EXPECTED}"
    )
    assert not marker.exists()


def test_a_file_that_is_not_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "list.ckpt"
    torch.save([1, 2, 3], path)
    assert _resume_error(str(path)) == f"not a townlet checkpoint: it holds a list; {EXPECTED}"


def test_weights_without_training_state_cannot_resume(tmp_path: Path) -> None:
    path = _save(tmp_path / "w.ckpt", _module(), optimizer_states=None, lr_schedulers=None)
    assert _resume_error(str(path)) == (
        f"not a checkpoint a run can resume from: it lacks optimizer_states, lr_schedulers; "
        f"{EXPECTED}"
    )


def test_another_hidden_dim_is_named(tmp_path: Path) -> None:
    path = _save(tmp_path / "h32.ckpt", _module(hidden_dim=32))
    assert _resume_error(str(path), _module(hidden_dim=16)) == (
        "its network differs from this run's (saved with policy.hidden_dim=32, this run has 16); "
        "expected a checkpoint of a run with the same strategy, policy, scenario and data"
    )


def test_other_observation_shapes_name_the_first_tensor(tmp_path: Path) -> None:
    path = _save(tmp_path / "big.ckpt", _module(map_shape=(2, 7, 7)))
    reason = _resume_error(str(path), _module(map_shape=(2, 5, 5)))
    assert reason.startswith("its network differs from this run's (policy.map_encoder.")
    assert "(16, 98) there, (16, 50) here" in reason


def test_other_weights_are_named(tmp_path: Path) -> None:
    state = {**_module().state_dict(), "policy.extra.weight": torch.zeros(2)}
    path = _save(tmp_path / "x.ckpt", _module(), state_dict=state, hyper_parameters={})
    assert _resume_error(str(path)).startswith(
        "its network differs from this run's (it holds policy.extra.weight)"
    )


def test_init_from_says_what_the_file_should_be(tmp_path: Path) -> None:
    path = tmp_path / "junk.ckpt"
    path.write_bytes(os.urandom(2048))
    with pytest.raises(ConfigError) as caught:
        load_policy_weights(_module().policy, path, "strategy.init_from=")
    assert str(caught.value) == (
        f"config error: strategy.init_from={path} — not a townlet checkpoint: {UNREADABLE}; "
        f"{EXPECTED}"
    )
