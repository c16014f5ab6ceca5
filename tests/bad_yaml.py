"""Scenario files that do not parse, and where the one-line error must point (shared by the
loader's unit tests and the CLI's scenario-group tests). ``{marker}`` is a file the python tag
would create if it were ever executed."""

from __future__ import annotations

import pytest

UNPARSABLE_YAML = [
    pytest.param(
        "ticks: [80\n",
        "line 2, column 1: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence from line 1, column 8)",
        id="unclosed-list",
    ),
    pytest.param(
        'ticks: !!python/object/apply:os.system ["touch {marker}"]\n',
        "line 1, column 8: tag '!!python/object/apply:os.system' is not allowed "
        "(only plain data: mappings, lists, scalars)",
        id="python-tag",
    ),
]
