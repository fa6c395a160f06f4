"""The stdlib parameter surrogate and RowIds."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from lute.io.parameters import FrozenList, RowIds, TaskParameters

WIRE = {
    "lute_config": {"experiment": "TST12345", "run": 12, "work_dir": "/tmp/w"},
    "float_var": 0.01,
    "str_var": "test",
    "compound_var": {"int_var": 10, "dict_var": {"a": "b"}},
    "items": [1, {"x": 2}],
    "missing": None,
}


def test_attribute_and_item_access_reach_nested_values() -> None:
    params = TaskParameters.from_wire(WIRE, model_name="TestParameters")
    assert params.float_var == 0.01
    assert params["str_var"] == "test"
    assert params.compound_var.int_var == 10
    assert params.compound_var.dict_var["a"] == "b"
    assert params.lute_config.run == 12
    assert params.items[1].x == 2
    assert params.missing is None


def test_parameters_are_read_only() -> None:
    params = TaskParameters(WIRE)
    with pytest.raises(TypeError, match="read-only"):
        params.float_var = 2.0
    with pytest.raises(TypeError, match="read-only"):
        params.compound_var.int_var = 3
    with pytest.raises(TypeError, match="read-only"):
        params.items.append(3)
    with pytest.raises(TypeError, match="read-only"):
        del params.str_var
    assert isinstance(params.items, list) and isinstance(params.items, FrozenList)


def test_unknown_parameter_error_lists_the_known_ones() -> None:
    params = TaskParameters.from_wire(WIRE, model_name="TestParameters")
    with pytest.raises(AttributeError, match="TestParameters has no parameter 'flot_var'") as info:
        params.flot_var  # noqa: B018
    assert "float_var" in str(info.value)


def test_export_is_a_mutable_deep_copy_equal_to_the_input() -> None:
    params = TaskParameters(WIRE)
    exported = params.dict()
    assert exported == WIRE
    assert params.model_dump() == WIRE
    exported["compound_var"]["int_var"] = 99
    assert params.compound_var.int_var == 10
    assert json.loads(json.dumps(exported))["items"] == [1, {"x": 99 - 97}]


def test_equality_repr_pickle_and_copy() -> None:
    a = TaskParameters.from_wire(WIRE, model_name="TestParameters")
    b = TaskParameters(json.loads(json.dumps(WIRE)))
    assert a == b
    assert a == WIRE
    assert a != TaskParameters({"float_var": 1.0})
    assert repr(a).startswith("TestParameters(")
    assert "float_var=0.01" in repr(a)
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.deepcopy(a) == a
    assert "float_var" in dir(a)


def test_rejects_non_mappings_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match="needs a mapping"):
        TaskParameters([1, 2])  # type: ignore[arg-type]


def test_row_ids_round_trip() -> None:
    row_ids = RowIds(execution_id=3, parameters_id=4, db_path="/w/lute.db")
    assert RowIds.from_wire(row_ids.to_wire()) == row_ids
    assert RowIds.from_wire(None) is None
    assert RowIds.from_wire({"execution_id": "7"}).execution_id == 7
