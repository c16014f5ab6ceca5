"""Load and validate scenarios: every problem is one ``ConfigError`` line naming file and field.

``load_scenario`` takes a path, a bare scenario name (looked up in ``conf/scenario/``) or a plain
mapping (what Hydra hands over after ``OmegaConf.to_container``); ``scenario_from_dict`` is the
mapping entry point with an explicit source label for messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from townlet.errors import ConfigError, yaml_problem
from townlet.sim.constants import ACTION_IDS, OBJECT_TYPES, OBSERVATION_VARIANTS
from townlet.sim.scenario import Position, Scenario

# The package's conf/ (symlink to the repo's conf/ in a clone; shipped in the wheel).
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "conf" / "scenario"
SCENARIO_NAMES: tuple[str, ...] = (
    "queue_conflict",
    "employment_punctuality",
    "rivalry_decay",
    "observation_baseline",
    "kitchen_breakfast",
    "town",
)


class _Problem(Exception):
    """One bad field: ``path=value reason`` (value omitted when ``None``)."""

    def __init__(self, path: str, value: object, reason: str) -> None:
        super().__init__(path)
        self.path, self.value, self.reason = path, value, reason

    def line(self, source: str) -> str:
        shown = "" if self.value is _NO_VALUE else f"={_fmt(self.value)}"
        return f"scenario {source}: {self.path}{shown} {self.reason}"


_NO_VALUE = object()


def _fmt(value: object) -> str:
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problem(err: Any) -> _Problem:
    kind, ctx = err["type"], err.get("ctx") or {}
    path = _path(err["loc"])
    value = err.get("input", _NO_VALUE)
    reasons = {
        "greater_than_equal": f"must be >= {ctx.get('ge')}",
        "greater_than": f"must be > {ctx.get('gt')}",
        "less_than_equal": f"must be <= {ctx.get('le')}",
        "less_than": f"must be < {ctx.get('lt')}",
        "extra_forbidden": "is not a known field",
        "too_short": f"must have at least {ctx.get('min_length')} entries",
        "finite_number": "must be a finite number",
    }
    if kind == "missing":
        return _Problem(path, _NO_VALUE, "is required")
    reason = reasons.get(kind, str(err["msg"]).lower())
    return _Problem(path or "scenario", value, reason)


def _plain(obj: Any) -> Any:
    """Recursively turn mapping/sequence views (e.g. an OmegaConf DictConfig) into dicts/lists."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, Sequence) and not isinstance(obj, str | bytes):
        return [_plain(v) for v in obj]
    return obj


def _check_world(scenario: Scenario) -> None:
    """Cross-field rules: positions on the grid and off walls, known types, jobs and actions."""
    if scenario.observation_variant not in OBSERVATION_VARIANTS:
        raise _Problem(
            "observation_variant",
            scenario.observation_variant,
            f"is not a variant ({', '.join(OBSERVATION_VARIANTS)})",
        )
    on_grid = _OnGrid(scenario)
    for i, wall in enumerate(scenario.grid.walls):
        on_grid(f"grid.walls[{i}]", wall, allow_wall=True)
    _check_objects(scenario, on_grid)
    _check_jobs(scenario, on_grid)
    _check_agents(scenario, on_grid)


class _OnGrid:
    """Checks that a position lies on the scenario's grid (and, unless allowed, off its walls)."""

    def __init__(self, scenario: Scenario) -> None:
        self.width, self.height = scenario.grid.width, scenario.grid.height
        self.walls = set(scenario.grid.walls)

    def __call__(self, path: str, pos: Position, allow_wall: bool = False) -> None:
        x, y = pos
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise _Problem(path, pos, f"is off the {self.width}x{self.height} grid")
        if not allow_wall and pos in self.walls:
            raise _Problem(path, pos, "is on a wall")


def _check_new_id(kind: str, index: int, ident: str, seen: dict[str, int]) -> None:
    """``ident`` of ``kind[index]`` must not repeat an earlier entry's (then it is noted)."""
    if ident in seen:
        raise _Problem(f"{kind}[{index}].id", ident, f"is already used by {kind}[{seen[ident]}]")
    seen[ident] = index


def _check_objects(scenario: Scenario, on_grid: _OnGrid) -> None:
    seen: dict[str, int] = {}
    taken: dict[Position, int] = {}
    for i, obj in enumerate(scenario.objects):
        _check_new_id("objects", i, obj.id, seen)
        if obj.type not in OBJECT_TYPES:
            raise _Problem(
                f"objects[{i}].type",
                obj.type,
                f"is not a known object type ({', '.join(OBJECT_TYPES)})",
            )
        on_grid(f"objects[{i}].position", obj.position)
        if obj.position in taken:
            raise _Problem(
                f"objects[{i}].position",
                obj.position,
                f"is already taken by objects[{taken[obj.position]}]",
            )
        taken[obj.position] = i


def _check_jobs(scenario: Scenario, on_grid: _OnGrid) -> None:
    grace = scenario.employment.grace_ticks
    for name, job in scenario.jobs.items():
        path = f"jobs.{name}.end_tick"
        if job.end_tick <= job.start_tick:
            raise _Problem(
                path, job.end_tick, f"must be greater than start_tick ({job.start_tick})"
            )
        if job.end_tick >= scenario.ticks_per_day:
            # A shift closes on the first tick past its window, which must fall in its own day.
            raise _Problem(
                path,
                job.end_tick,
                f"must end before the day does (< ticks_per_day={scenario.ticks_per_day})",
            )
        if job.end_tick - job.start_tick <= grace:
            # The KPI counts a shift start when the grace period ends, inside the window.
            raise _Problem(
                path,
                job.end_tick,
                f"must leave the shift longer than employment.grace_ticks "
                f"({grace}) after start_tick ({job.start_tick})",
            )
        on_grid(f"jobs.{name}.location", job.location)


def _check_agents(scenario: Scenario, on_grid: _OnGrid) -> None:
    seen: dict[str, int] = {}
    for i, agent in enumerate(scenario.agents):
        _check_new_id("agents", i, agent.id, seen)
        on_grid(f"agents[{i}].position", agent.position)
        if agent.job is not None and agent.job not in scenario.jobs:
            known = ", ".join(scenario.jobs) or "none defined"
            raise _Problem(
                f"agents[{i}].job", agent.job, f"is not a job of this scenario ({known})"
            )
        for k, entry in enumerate(agent.schedule):
            where = f"agents[{i}].schedule[{k}]"
            if entry.action not in ACTION_IDS:
                raise _Problem(
                    f"{where}.action", entry.action, f"is not an action ({', '.join(ACTION_IDS)})"
                )
            if entry.end <= entry.start:
                raise _Problem(
                    f"{where}.end", entry.end, f"must be greater than start ({entry.start})"
                )


def scenario_from_dict(
    data: Mapping[str, Any], source: str = "<mapping>", name: str | None = None
) -> Scenario:
    """Validate a plain mapping of scenario fields; raise ``ConfigError`` naming ``source``.

    ``name`` fills the scenario's name when the mapping has none (Hydra's group option name).
    """
    plain = _plain(data)
    if not isinstance(plain, dict):
        raise ConfigError(f"scenario {source}: must be a mapping of scenario fields")
    try:
        scenario = Scenario.model_validate(plain)
    except ValidationError as exc:
        raise ConfigError(_pydantic_problem(exc.errors()[0]).line(source)) from None
    try:
        _check_world(scenario)
    except _Problem as problem:
        raise ConfigError(problem.line(source)) from None
    if scenario.name is None and name is not None:
        scenario = scenario.model_copy(update={"name": name})
    return scenario


def scenario_path(name: str) -> Path:
    """The YAML file of a bundled scenario name, e.g. ``queue_conflict``."""
    return SCENARIO_DIR / f"{name}.yaml"


def load_scenario(source: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """A validated :class:`Scenario` from a path, a bundled name, a mapping or a Scenario."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return scenario_from_dict(source)
    path = Path(source)
    if not path.suffix and not path.exists() and scenario_path(str(source)).exists():
        path = scenario_path(str(source))
    label = str(source)
    if not path.is_file():
        raise ConfigError(f"scenario {label}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"scenario {label}: {yaml_problem(exc)}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"scenario {label}: must be a mapping of scenario fields")
    return scenario_from_dict(data, source=label, name=path.stem)
