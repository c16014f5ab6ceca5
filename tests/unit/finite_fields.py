"""Every float field of a tree of pydantic models, and the check that it refuses inf and nan."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

NON_FINITE = (math.inf, -math.inf, math.nan)


def _members(annotation: Any) -> Iterator[Any]:
    """The types inside an annotation: union members, list items, dict values, Annotated's type."""
    yield annotation
    for arg in get_args(annotation):
        yield from _members(arg)


def float_fields(root: type[BaseModel]) -> list[tuple[type[BaseModel], str]]:
    """(model, field) for every field that accepts a float, in ``root`` and the models below it."""
    found: list[tuple[type[BaseModel], str]] = []
    seen: set[type[BaseModel]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            members = list(_members(field.annotation))
            if float in members:
                found.append((model, name))
            todo.extend(m for m in members if isinstance(m, type) and issubclass(m, BaseModel))
    return found


def refusal_kinds(model: type[BaseModel], name: str, value: float) -> set[str]:
    """The error types ``model`` reports for ``name=value``; errors of other fields are left out."""
    try:
        model.model_validate({name: value})
    except ValidationError as err:
        return {str(e["type"]) for e in err.errors() if e["loc"][:1] == (name,)}
    return set()
