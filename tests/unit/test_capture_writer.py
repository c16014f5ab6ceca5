"""The capture writer (DESIGN §11): config checks, recording rules and the files it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from townlet.config.capture import validate_capture_config
from townlet.data import capture_writer as writer
from townlet.data import load_manifest, load_sample
from townlet.data.capture_writer import ScriptedSource, record_capture, write_capture
from townlet.errors import ConfigError
from townlet.sim import ACTION_NAMES, Scenario, TownVecEnv, scenario_from_dict

WAIT = ACTION_NAMES.index("wait")
EPISODE = 10  # the test town's scenario ticks: captures longer than this span resets


@pytest.fixture
def frail_town() -> Scenario:
    """Two agents and no food: 'frail' faints on tick 3 of every episode, 'hale' never does."""
    return scenario_from_dict(
        {
            "seed": 3,
            "ticks": EPISODE,
            "grid": {"width": 6, "height": 6, "walls": []},
            "agents": [
                {
                    "id": "frail",
                    "position": [1, 1],
                    "needs": {"hunger": 0.06, "hygiene": 0.9, "energy": 0.9},
                },
                {"id": "hale", "position": [4, 4]},
            ],
            "needs": {"decay": {"hunger": 0.01, "hygiene": 0.0, "energy": 0.0}},
        },
        name="frail_town",
    )


def capture_into(folder: Path, scenario: Scenario, towns: int, ticks: int) -> list[Path]:
    env = TownVecEnv(scenario, num_towns=towns, seed=scenario.seed)
    recorded = record_capture(env, ScriptedSource(), ticks)
    metadata: dict[str, Any] = {"scenario": "frail_town", "seed": 3, "ticks": ticks}
    return write_capture(folder, recorded, env, metadata)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"ticks": 0}, "config error: capture.ticks=0 — must be >= 1"),
        ({"num_towns": 0}, "config error: capture.num_towns=0 — must be >= 1"),
        ({"seed": -1}, "config error: capture.seed=-1 — must be >= 0"),
        ({"policy": "foo"}, "config error: capture.policy=foo — must be 'scripted' or 'ckpt:PATH'"),
        ({"policy": "ckpt:"}, "config error: capture.policy=ckpt: — must be 'scripted' or"),
        ({"policy": "ckpt:/no/such.ckpt"}, "— checkpoint file not found"),
        ({"tick": 5}, "config error: capture.tick — unknown key"),
    ],
    ids=["ticks", "num-towns", "seed", "policy", "empty-ckpt", "missing-ckpt", "unknown-key"],
)
def test_bad_capture_section_is_one_line(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_capture_config({"capture": section})
    line = str(caught.value)
    assert "\n" not in line
    assert message in line


def test_capture_section_defaults_and_checkpoint(tmp_path: Path) -> None:
    default = validate_capture_config({"capture": {}})
    assert (default.ticks, default.policy, default.num_towns, default.seed) == (
        None,
        "scripted",
        1,
        None,
    )
    assert default.checkpoint is None
    ckpt = tmp_path / "last.ckpt"
    ckpt.write_bytes(b"")
    config = validate_capture_config({"capture": {"policy": f"ckpt:{ckpt}", "ticks": 7}})
    assert config.checkpoint == ckpt and config.ticks == 7


def test_files_are_named_by_agent_and_running_index(tmp_path: Path, frail_town: Scenario) -> None:
    paths = capture_into(tmp_path, frail_town, towns=2, ticks=12)
    stems = ["rollout_sample_frail_001", "rollout_sample_hale_002"]
    stems += ["rollout_sample_frail_003", "rollout_sample_hale_004"]
    assert [p.name for p in paths] == [f"{s}.npz" for s in stems]
    manifest = json.loads((tmp_path / "rollout_sample_manifest.json").read_text())
    assert manifest == [{"sample": f"{s}.npz", "meta": f"{s}.json"} for s in stems]
    metrics = json.loads((tmp_path / "rollout_sample_metrics.json").read_text())
    assert list(metrics) == [f"{s}.npz" for s in stems]
    entries = load_manifest(tmp_path)
    assert [e.sample.name for e in entries] == [f"{s}.npz" for s in stems]
    for index, entry in enumerate(entries):
        sample = load_sample(entry.sample)
        assert sample.meta["capture_metadata"]["town"] == index // 2
        assert sample.meta["agent_id"] == ("frail", "hale")[index % 2]
        assert sample.meta["embedding_slot"] == index % 2
        assert sample.meta["metrics"] == metrics[entry.sample.name] == entry.metrics
        # The scripted controller is deterministic: probability 1 and no critic.
        assert not sample.arrays["old_log_probs"].any()
        values = sample.arrays["value_preds"]
        assert values.shape == (13,) and not values.any()


def test_out_of_episode_steps_wait_and_close_at_the_reset(
    tmp_path: Path, frail_town: Scenario
) -> None:
    env = TownVecEnv(frail_town, num_towns=1, seed=3)
    recorded = record_capture(env, ScriptedSource(), 2 * EPISODE + 5)
    frail = {key: value[0, 0] for key, value in recorded.items()}
    hale_dones = recorded["dones"][0, 1]
    fainted = np.flatnonzero(frail["rewards"] < -1.0)  # the faint penalty marks termination
    assert fainted.size == 3
    for start in (0, EPISODE, 2 * EPISODE):
        faint = int(fainted[fainted >= start][0])
        end = min(start + EPISODE, frail["actions"].shape[0])
        filler = slice(faint + 1, end)
        assert frail["dones"][faint]
        assert (frail["actions"][filler] == WAIT).all()
        assert (frail["rewards"][filler] == 0.0).all()
        only_wait = np.zeros(len(ACTION_NAMES), dtype=bool)
        only_wait[WAIT] = True
        assert (frail["action_mask"][filler] == only_wait).all()
        # The filler stretch is closed where the town resets, and nowhere else.
        expected = end == start + EPISODE
        assert frail["dones"][end - 1] == expected
        assert not frail["dones"][faint + 1 : end - 1].any()
    # The agent that stays alive is done only when its town's episode is truncated.
    assert np.flatnonzero(hale_dones).tolist() == [EPISODE - 1, 2 * EPISODE - 1]


def test_same_seed_records_identical_arrays(frail_town: Scenario) -> None:
    runs = [
        record_capture(TownVecEnv(frail_town, num_towns=2, seed=9), ScriptedSource(), 15)
        for _ in range(2)
    ]
    for key, value in runs[0].items():
        assert value.dtype == runs[1][key].dtype
        assert value.tobytes() == runs[1][key].tobytes(), key


def test_interrupted_capture_leaves_no_manifest(
    tmp_path: Path, frail_town: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_into(tmp_path, frail_town, towns=1, ticks=5)
    assert (tmp_path / "rollout_sample_manifest.json").is_file()
    calls: list[Path] = []
    real_save = writer.save_sample

    def dies_on_second_sample(path: Path, *args: Any) -> Any:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a killed capture looks like from inside
        return real_save(path, *args)

    monkeypatch.setattr(writer, "save_sample", dies_on_second_sample)
    with pytest.raises(KeyboardInterrupt):
        capture_into(tmp_path, frail_town, towns=1, ticks=6)
    # The stale manifest went first; the half-written capture has none, and no temp files.
    assert not (tmp_path / "rollout_sample_manifest.json").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_action_lookup_maps_json_payloads_to_ids() -> None:
    lookup = writer.action_lookup(ACTION_NAMES)
    assert {json.loads(key)["action"]: value for key, value in lookup.items()} == {
        name: i for i, name in enumerate(ACTION_NAMES)
    }


def test_scripted_capture_path_imports_without_torch() -> None:
    """Only ckpt: policies need torch; the entry point and writer import with it blocked."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import townlet.capture, townlet.data.capture_writer\n"
        "print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
