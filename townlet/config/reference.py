"""Render the config reference (docs/config-reference.md) from the pydantic models.

The models are the single source of names, defaults, bounds and descriptions, so the reference
cannot drift from what the validator enforces. ``python -m townlet.config.reference`` rewrites it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from townlet.config.capture import CaptureConfig
from townlet.config.models import (
    AnnealConfig,
    AnnealStage,
    BCConfig,
    DeviceConfig,
    MixedDataConfig,
    PolicyConfig,
    PPOConfig,
    ReplayDataConfig,
    RolloutDataConfig,
    TelemetryCallbackConfig,
    TrainConfig,
    TrainerConfig,
)
from townlet.config.validate import describe_bounds

SECTIONS: list[tuple[str, type[BaseModel], str]] = [
    ("(top level)", TrainConfig, "conf/train.yaml"),
    ("strategy (strategy=ppo; strategy.ppo under anneal)", PPOConfig, "conf/strategy/ppo.yaml"),
    ("strategy (strategy=bc; strategy.bc under anneal)", BCConfig, "conf/strategy/bc.yaml"),
    ("strategy (strategy=anneal)", AnnealConfig, "conf/strategy/anneal.yaml"),
    ("strategy.schedule[]", AnnealStage, "conf/strategy/anneal.yaml"),
    ("data (data=replay)", ReplayDataConfig, "conf/data/replay.yaml"),
    ("data (data=rollout)", RolloutDataConfig, "conf/data/rollout.yaml"),
    ("data (data=mixed)", MixedDataConfig, "conf/data/{rollout,mixed}.yaml"),
    ("device", DeviceConfig, "conf/device/{auto,cpu,gpu}.yaml"),
    ("policy", PolicyConfig, "conf/policy/conflict_aware.yaml"),
    ("trainer", TrainerConfig, "conf/train.yaml"),
    ("callbacks.telemetry", TelemetryCallbackConfig, "conf/callbacks/default.yaml"),
    ("capture (python -m townlet.capture)", CaptureConfig, "conf/capture.yaml"),
]
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "config-reference.md"


def _bounds(field: FieldInfo) -> str:
    return (describe_bounds(field) or "").removeprefix("must be ")


def _type_name(annotation: Any) -> str:
    """A table-safe type name: Literal values listed, unions joined with "or"."""
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:  # a checked type such as ExistingPath
        return _type_name(args[0])
    if get_origin(annotation) is Literal:
        return " or ".join(f"`{value}`" for value in args)
    if args and get_origin(annotation) in (Union, UnionType):
        return " or ".join(_type_name(arg) for arg in args)
    if args:
        return f"{getattr(get_origin(annotation), '__name__', 'map')}"
    return "null" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    return "null" if value is None else f"`{value}`"


def render() -> str:
    lines = [
        "# Config reference",
        "",
        "Generated from `townlet/config/models.py` by `python -m townlet.config.reference`;",
        "do not edit by hand. Every field is checked before a run starts: a bad value stops it",
        "with one `config error:` line and exit code 2.",
    ]
    for section, model, source in SECTIONS:
        lines += [
            "",
            f"## `{section}`",
            "",
            f"{(model.__doc__ or '').strip()} Source: `{source}`.",
            "",
        ]
        lines += ["| key | type | default | bounds | meaning |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                continue  # nested sections have their own table
            key = field.alias or name
            meaning = field.description or ""
            lines.append(
                f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | "
                f"{_bounds(field)} | {meaning} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
