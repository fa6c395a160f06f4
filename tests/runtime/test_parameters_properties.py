"""Property test: any JSON-compatible mapping survives the surrogate round trip."""

from __future__ import annotations

import json

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lute.io.parameters import TaskParameters  # noqa: E402

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_surrogate_round_trip(data: dict) -> None:  # type: ignore[type-arg]
    wire = json.loads(json.dumps(data))
    params = TaskParameters.from_wire(wire)
    assert params.dict() == wire
    assert TaskParameters(params.dict()) == params
    for key in wire:
        assert params[key] == wire[key] or params[key] is wire[key] or wire[key] != wire[key]
