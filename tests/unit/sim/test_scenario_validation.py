"""Scenario files (DESIGN §9.11): each bad value is one ConfigError line naming file and field."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from tests.bad_yaml import UNPARSABLE_YAML
from tests.unit.finite_fields import NON_FINITE, float_fields, refusal_kinds
from townlet.errors import ConfigError
from townlet.sim import SCENARIO_NAMES, load_scenario, scenario_from_dict, scenario_path
from townlet.sim.scenario import Scenario
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


@pytest.mark.parametrize(
    ("text", "where"),
    [
        *UNPARSABLE_YAML,
        pytest.param(
            "ticks: 80\n\tagents: []\n", "line 2, column 1: found character '\\t'", id="tab"
        ),
    ],
)
def test_unparsable_yaml_is_one_line_with_line_and_column(tmp_path, text, where):
    marker = tmp_path / "executed"
    path = tmp_path / "scenario.yaml"
    path.write_text(text.format(marker=marker))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"config error: scenario {path}: not valid YAML at {where}")
    assert "\n" not in str(info.value) and info.value.exit_code == 2
    assert not marker.exists()  # the tag was refused, never run


def test_scenario_that_is_not_text_is_one_line(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ConfigError, match=r"^config error: scenario .*\.yaml: not valid YAML"):
        load_scenario(path)


def test_the_scenario_tree_has_float_fields_to_check():
    names = {f"{model.__name__}.{name}" for model, name in float_fields(Scenario)}
    assert {"RewardsSpec.survival_tick", "AgentSpec.wallet", "NeedLevels.hunger"} <= names
    assert len(names) >= 40


@pytest.mark.parametrize(("model", "name"), float_fields(Scenario))
def test_every_scenario_float_refuses_inf_and_nan(model, name):
    for value in NON_FINITE:
        assert refusal_kinds(model, name, value) == {"finite_number"}, value


@pytest.mark.parametrize(
    ("block", "field", "message"),
    [
        ("rewards", {"survival_tick": float("inf")}, "rewards.survival_tick=inf"),
        ("needs", {"decay": {"hunger": float("nan")}}, "needs.decay.hunger=nan"),
        ("economy", {"meal_cost": float("-inf")}, "economy.meal_cost=-inf"),
    ],
)
def test_non_finite_scenario_value_is_one_line(tmp_path, block, field, message):
    data = _base()
    data[block] = field
    assert _error(tmp_path, data) == f"{message} must be a finite number"


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
