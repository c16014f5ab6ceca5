"""Turn a composed config into pydantic models, or one ``config error:`` line (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Mapping
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from townlet.config.models import TrainConfig
from townlet.errors import ConfigError, close_match

_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def describe_bounds(field: FieldInfo) -> str | None:
    """ "must be within [0, 1]", "must be > 0", … from a field's ``Field`` constraints."""
    low: object = None
    high: object = None
    low_open = high_open = False
    for meta in field.metadata:
        if isinstance(meta, Ge):
            low = meta.ge
        elif isinstance(meta, Gt):
            low, low_open = meta.gt, True
        elif isinstance(meta, Le):
            high = meta.le
        elif isinstance(meta, Lt):
            high, high_open = meta.lt, True
    if low is not None and high is not None:
        return f"must be within {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"must be {'>' if low_open else '>='} {low}"
    if high is not None:
        return f"must be {'<' if high_open else '<='} {high}"
    return None


def _field_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> FieldInfo | None:
    """The field a pydantic error location points at, through nested sections and unions."""
    field = None
    candidates: list[Any] = [model]
    for part in loc:
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        field = next(
            (m.model_fields[str(part)] for m in models if str(part) in m.model_fields), None
        )
        if field is None:
            return None
        candidates = list(get_args(field.annotation)) or [field.annotation]
    return field


def _union_tag_member(models: list[type[BaseModel]], part: int | str) -> type[BaseModel] | None:
    """The union member whose discriminator value (a Literal field's default) is ``part``."""
    for member in models:
        for field in member.model_fields.values():
            if get_origin(field.annotation) is Literal and field.default == part:
                return member
    return None


def _clean_loc(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The error's path as the user writes it: union-member tags and validator names dropped.

    A discriminated union (``strategy``, ``data``) puts its tag into the location, e.g.
    ``strategy.ppo.learning_rate``; the override the user typed is ``strategy.learning_rate``.
    A union of plain types names the member it tried: ``trainer.limit_train_batches.int``.
    """
    clean: list[int | str] = []
    candidates: list[Any] = [model]
    scalar_union = False  # the last field is a union of plain types such as int | float
    for part in loc:
        if str(part).startswith("function-"):
            continue
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if len(models) > 1 and (member := _union_tag_member(models, part)) is not None:
            candidates = [member]
            continue
        field = next(
            (m.model_fields[str(part)] for m in models if str(part) in m.model_fields), None
        )
        if field is None and scalar_union and isinstance(part, str):
            continue
        clean.append(part)
        candidates = (list(get_args(field.annotation)) or [field.annotation]) if field else []
        scalar_union = (
            field is not None
            and get_origin(field.annotation) in (Union, UnionType)
            and not any(isinstance(c, type) and issubclass(c, BaseModel) for c in candidates)
        )
    return tuple(clean)


def _sections_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[type[BaseModel]]:
    """The section models a location's last part belongs to (the one it is, in a union's tag)."""
    candidates: list[Any] = [model]
    for part in loc[:-1]:
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if isinstance(part, int) or str(part).startswith("function-"):
            continue  # a list index or a validator's name: still the same sections
        if len(models) > 1 and (member := _union_tag_member(models, part)) is not None:
            candidates = [member]
            continue
        field = next(
            (m.model_fields[str(part)] for m in models if str(part) in m.model_fields), None
        )
        if field is None:
            return []
        candidates = list(get_args(field.annotation)) or [field.annotation]
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]


def _unknown_key(error: ErrorDetails, model: type[BaseModel], key: str) -> str:
    """An unknown key, with the section's closest field as the likely meant one."""
    loc = tuple(error["loc"])
    known = {
        field.alias or name
        for section in _sections_at(model, loc)
        for name, field in section.model_fields.items()
    }
    guess = close_match(str(loc[-1]), sorted(known)) if loc else None
    if guess is None:
        return f"{key} — unknown key (not a field of this section)"
    head = key.rpartition(".")[0]
    return f"{key} — unknown key; did you mean {'.'.join(p for p in (head, guess) if p)}?"


def _describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    """One ``key=value — problem`` phrase for a pydantic error."""
    loc = _clean_loc(model, tuple(error["loc"]))
    key = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(error, model, key)
    if kind == "missing":
        return f"{key} — is required"
    value = error.get("input")
    shown = f"{key}={value}"
    if kind in _BOUND_ERRORS:
        field = _field_at(model, loc)
        bounds = describe_bounds(field) if field else None
        if bounds:
            return f"{shown} — {bounds}"
    if kind == "finite_number":
        return f"{shown} — must be a finite number"
    if kind == "literal_error":
        return f"{shown} — {error['msg'].replace('Input should be', 'must be')}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{shown} — {message[0].lower()}{message[1:]}"


def format_validation_error(err: ValidationError, model: type[BaseModel]) -> str:
    """The first problem as one line; the count of any others is appended."""
    errors = err.errors()
    line = _describe(errors[0], model)
    # Each member of a union reports the same key: count keys, not pydantic's errors.
    others = {_clean_loc(model, tuple(e["loc"])) for e in errors[1:]}
    others.discard(_clean_loc(model, tuple(errors[0]["loc"])))
    if others:
        line += f" (and {len(others)} more problem(s))"
    return line


def validate_train_config(config: Mapping[str, Any]) -> TrainConfig:
    """Validate a resolved config mapping; raise ConfigError with one line on any bad value."""
    try:
        return TrainConfig.model_validate(dict(config))
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, TrainConfig)) from None
