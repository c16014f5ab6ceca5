"""Scenario files (DESIGN §9.11): each bad value is one ConfigError line naming file and field."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from townlet.errors import ConfigError
from townlet.sim import SCENARIO_NAMES, load_scenario, scenario_from_dict, scenario_path
from townlet.sim.scenario_loader import SCENARIO_DIR


def _base() -> dict:
    return yaml.safe_load(scenario_path("employment_punctuality").read_text())


def _error(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"config error: scenario {path}: ")
    assert info.value.exit_code == 2
    return message.split(f"scenario {path}: ", 1)[1]


def test_unknown_object_type(tmp_path):
    data = _base()
    data["objects"][0]["type"] = "sofa"
    assert _error(tmp_path, data).startswith("objects[0].type='sofa' is not a known object type (")


def test_agent_off_the_grid(tmp_path):
    data = _base()
    data["agents"][1]["position"] = [30, 2]
    assert _error(tmp_path, data) == "agents[1].position=(30, 2) is off the 24x24 grid"


def test_agent_on_a_wall(tmp_path):
    data = _base()
    data["grid"]["walls"] = [[3, 3], [10, 12]]
    assert _error(tmp_path, data) == "agents[0].position=(10, 12) is on a wall"


def test_unknown_job(tmp_path):
    data = _base()
    data["agents"][0]["job"] = "bakery"
    assert _error(tmp_path, data) == (
        "agents[0].job='bakery' is not a job of this scenario (cafe_shift)"
    )


@pytest.mark.parametrize(
    ("block", "field", "path"),
    [
        ("needs", {"decay": {"hunger": -0.1}}, "needs.decay.hunger=-0.1 must be >= 0.0"),
        (
            "conflict",
            {"rivalry": {"decay_per_tick": -0.01}},
            "conflict.rivalry.decay_per_tick=-0.01 must be >= 0.0",
        ),
        (
            "jobs",
            {
                "cafe_shift": {
                    "start_tick": 10,
                    "end_tick": 30,
                    "location": [12, 12],
                    "wage_rate": -1.0,
                }
            },
            "jobs.cafe_shift.wage_rate=-1.0 must be >= 0.0",
        ),
    ],
)
def test_negative_rates(tmp_path, block, field, path):
    data = _base()
    data[block] = field
    assert _error(tmp_path, data) == path


def test_unknown_field_and_missing_field(tmp_path):
    data = _base()
    data["weather"] = "rain"
    assert _error(tmp_path, data) == "weather='rain' is not a known field"
    data = _base()
    del data["ticks"]
    assert _error(tmp_path, data) == "ticks is required"


def test_more_cross_field_rules(tmp_path):
    data = _base()
    data["jobs"]["cafe_shift"]["end_tick"] = 5
    assert (
        _error(tmp_path, data) == "jobs.cafe_shift.end_tick=5 must be greater than start_tick (10)"
    )
    data = _base()
    data["ticks_per_day"] = 30
    assert _error(tmp_path, data) == (
        "jobs.cafe_shift.end_tick=30 must end before the day does (< ticks_per_day=30)"
    )
    data = _base()
    data["employment"] = {"grace_ticks": 20}
    assert _error(tmp_path, data) == (
        "jobs.cafe_shift.end_tick=30 must leave the shift longer than "
        "employment.grace_ticks (20) after start_tick (10)"
    )
    data = _base()
    data["agents"][1]["schedule"] = [{"start": 0, "end": 5, "action": "dance"}]
    assert _error(tmp_path, data).startswith(
        "agents[1].schedule[0].action='dance' is not an action"
    )
    data = _base()
    data["observation_variant"] = "panorama"
    assert _error(tmp_path, data).startswith("observation_variant='panorama' is not a variant")


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="scenario .*nowhere.yaml: file not found"):
        load_scenario(tmp_path / "nowhere.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("agents: [\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_scenario(bad)


def test_bundled_files_by_name_path_and_plain_mapping():
    assert sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")) == sorted(SCENARIO_NAMES)
    for name in SCENARIO_NAMES:
        by_name = load_scenario(name)
        by_path = load_scenario(scenario_path(name))
        data = yaml.safe_load(scenario_path(name).read_text())
        # Hydra hands over mapping views; nested read-only mappings stand in for a DictConfig
        frozen = MappingProxyType(
            {k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in data.items()}
        )
        by_dict = scenario_from_dict(frozen, source=f"scenario={name}", name=name)
        assert by_dict.name == name
        assert by_name.model_dump(exclude={"name"}) == by_dict.model_dump(exclude={"name"})
        assert by_path.name == name


def test_mapping_errors_name_the_source():
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(
            {"ticks": 5, "agents": [{"id": "x", "position": [99, 0]}]}, source="scenario=custom"
        )
    assert str(info.value) == (
        "config error: scenario scenario=custom: agents[0].position=(99, 0) is off the 24x24 grid"
    )
