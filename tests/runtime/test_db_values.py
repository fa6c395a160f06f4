"""Normalisation rules of the results database: summaries, payloads, parameters, runs."""

from __future__ import annotations

import datetime
import enum
import json
import math
import pathlib
import sqlite3
from typing import Any, List

import pytest

from lute.io.db import DatabaseError, PlotsRef, format_summary
from lute.io.db import _values as values
from lute.io.db._connect import is_busy, resolve_journal_mode, retry_busy
from lute.tasks.dataclasses import ElogSummaryPlots, TaskStatus

# ------------------------------------------------------------------ format_summary


def test_dict_summary_is_key_colon_value_joined_by_semicolon() -> None:
    assert format_summary({"Rate": 0.05, "Total": 10}) == [("dict", "Rate: 0.05;Total: 10")]


def test_dict_values_use_str_not_repr() -> None:
    rows = format_summary({"name": "a b", "nested": {"x": 1}, "none": None})
    assert rows == [("dict", "name: a b;nested: {'x': 1};none: None")]


def test_empty_dict_gives_empty_text() -> None:
    assert format_summary({}) == [("dict", "")]


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("done", [("text", "done")]),
        ("", [("text", "")]),
        (None, [("none", "")]),
        (3, [("number", "3")]),
        (0.25, [("number", "0.25")]),
        (True, [("bool", "True")]),
        (PlotsRef("Scan/Peaks", "/w/peaks.html"), [("plots", "/w/peaks.html")]),
    ],
)
def test_scalar_summaries(summary: Any, expected: List[Any]) -> None:
    assert format_summary(summary) == expected


def test_list_and_tuple_are_stored_item_by_item_in_order() -> None:
    summary = ["first", {"a": 1}, (2, None), PlotsRef("p", "/p.html")]
    assert format_summary(summary) == [
        ("text", "first"),
        ("dict", "a: 1"),
        ("number", "2"),
        ("none", ""),
        ("plots", "/p.html"),
    ]


def test_empty_list_still_gives_one_row() -> None:
    assert format_summary([]) == [("none", "")]
    assert format_summary(((),)) == [("none", "")]


def test_self_containing_list_does_not_recurse_forever() -> None:
    summary: List[Any] = ["a"]
    summary.append(summary)
    assert format_summary(summary) == [("text", "a"), ("object", "[...]")]


def test_duck_typed_plots_reference_is_accepted() -> None:
    class Rendered:
        display_name = "tab"
        path = pathlib.Path("/w/tab.html")

    assert format_summary(Rendered()) == [("plots", "/w/tab.html")]


def test_unrendered_elog_plots_are_kept_as_object_text() -> None:
    # The Executor renders plots to HTML first; an unrendered one must not crash.
    rows = format_summary(ElogSummaryPlots("tab", figures="<p>x</p>"))
    assert rows[0][0] == "object"
    assert "tab" in rows[0][1]


def test_text_with_lone_surrogate_is_made_storable() -> None:
    ((kind, text),) = format_summary("bad\udcff")
    assert kind == "text"
    text.encode("utf-8")  # would raise if the surrogate were kept
    assert text.startswith("bad")


# ------------------------------------------------------------------ payloads


def test_json_payload_round_trips_with_type_name() -> None:
    text, type_name, encoding = values.encode_payload({"fit": [1, 2.5], "ok": True})
    assert (type_name, encoding) == ("dict", "json")
    assert values.decode_payload(text, encoding) == {"fit": [1, 2.5], "ok": True}


def test_non_json_payload_is_stored_as_repr_with_qualified_type() -> None:
    class Blob:
        def __repr__(self) -> str:
            return "Blob(42)"

    text, type_name, encoding = values.encode_payload(Blob())
    assert (text, encoding) == ("Blob(42)", "repr")
    assert type_name is not None
    assert type_name.endswith(
        "test_non_json_payload_is_stored_as_repr_with_qualified_type.<locals>.Blob"
    )
    assert values.decode_payload(text, encoding) == "Blob(42)"


def test_payload_with_broken_repr_is_still_stored() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    text, _, encoding = values.encode_payload(Broken())
    assert encoding == "repr"
    assert text is not None and "no repr" in text


def test_none_payload_is_three_nulls() -> None:
    assert values.encode_payload(None) == (None, None, None)
    assert values.decode_payload(None, None) is None


def test_tuple_payload_is_json_list_but_remembers_its_type() -> None:
    text, type_name, encoding = values.encode_payload((1, 2))
    assert (text, type_name, encoding) == ("[1,2]", "tuple", "json")


def test_circular_payload_falls_back_to_repr() -> None:
    loop: List[Any] = []
    loop.append(loop)
    _, _, encoding = values.encode_payload(loop)
    assert encoding == "repr"


def test_numpy_payload_is_repr_with_module_type_name() -> None:
    np = pytest.importorskip("numpy")
    _, type_name, encoding = values.encode_payload(np.arange(3))
    assert (type_name, encoding) == ("numpy.ndarray", "repr")


# ------------------------------------------------------------------ parameters


class Colour(enum.Enum):
    RED = "red"


def test_to_json_data_converts_common_model_values() -> None:
    data = values.to_json_data(
        {
            "path": pathlib.Path("/data/x.h5"),
            "when": datetime.date(2024, 5, 1),
            "colour": Colour.RED,
            "tags": {"b", "a"},
            "pair": (1, 2),
            3: "int key",
        },
        "",
    )
    assert data == {
        "path": "/data/x.h5",
        "when": "2024-05-01",
        "colour": "red",
        "tags": ["a", "b"],
        "pair": [1, 2],
        "3": "int key",
    }


def test_to_json_data_names_the_path_of_a_bad_value() -> None:
    with pytest.raises(DatabaseError, match=r"compound_var\.items\[1\].*object"):
        values.to_json_data({"compound_var": {"items": [1, object()]}}, "")


def test_to_json_data_uses_model_dump_when_present() -> None:
    class Model:
        def model_dump(self, mode: str = "python") -> Any:
            assert mode == "json"
            return {"a": 1}

    assert values.to_json_data({"m": Model()}, "") == {"m": {"a": 1}}


def test_flatten_parameters_walks_objects_and_keeps_lists_whole() -> None:
    rows = values.flatten_parameters(
        {
            "lute_config": {"experiment": "xpp1", "run": 12},
            "compound_var": {"int_var": 1, "deep": {"x": None}},
            "list_var": [1, {"a": 2}],
            "empty": {},
            "float_var": 0.5,
        }
    )
    assert dict(rows) == {
        "lute_config.experiment": '"xpp1"',
        "lute_config.run": "12",
        "compound_var.int_var": "1",
        "compound_var.deep.x": "null",
        "list_var": '[1,{"a":2}]',
        "empty": "{}",
        "float_var": "0.5",
    }


def test_nan_parameter_round_trips_through_python_json() -> None:
    ((path, text),) = values.flatten_parameters({"x": float("nan")})
    assert path == "x"
    assert math.isnan(json.loads(text))


# ------------------------------------------------------------------ statuses, runs, time


def test_terminal_statuses_match_task_status() -> None:
    assert {s.value for s in TaskStatus if s.is_terminal} == values.TERMINAL_STATUSES
    assert set(values.STATUSES) == {s.value for s in TaskStatus}


@pytest.mark.parametrize("status", ["COMPLETED", "completed", TaskStatus.COMPLETED])
def test_status_accepts_names_and_enums(status: Any) -> None:
    assert values.normalise_status(status, "t") == "COMPLETED"


@pytest.mark.parametrize("status", ["DONE", "", None, 3])
def test_unknown_status_is_rejected_by_name(status: Any) -> None:
    with pytest.raises(DatabaseError, match="unknown status"):
        values.normalise_status(status, "t")


@pytest.mark.parametrize(
    ("run", "columns"),
    [
        ("0012", ("0012", 12)),
        ("12", ("12", 12)),
        (12, ("12", 12)),
        ("12a", ("12a", None)),
        ("-3", ("-3", None)),
        (None, (None, None)),
    ],
)
def test_run_is_kept_as_text_with_its_number(run: Any, columns: Any) -> None:
    assert values.run_columns(run) == columns


@pytest.mark.parametrize("run", [1.5, True, ["1"]])
def test_run_of_other_types_is_rejected(run: Any) -> None:
    with pytest.raises(DatabaseError, match="run must be a str or an int"):
        values.run_columns(run)


def test_epoch_times_become_utc_iso_text() -> None:
    assert values.utc_from_epoch(0, "t") == "1970-01-01T00:00:00.000000+00:00"
    with pytest.raises(DatabaseError, match="finite POSIX seconds"):
        values.utc_from_epoch(float("inf"), "t")
    with pytest.raises(DatabaseError, match="finite POSIX seconds"):
        values.utc_from_epoch("noon", "t")


def test_utc_now_is_parseable_by_sqlite() -> None:
    now = values.utc_now()
    assert now.endswith("+00:00")
    conn = sqlite3.connect(":memory:")
    try:
        assert conn.execute("SELECT julianday(?) IS NOT NULL", (now,)).fetchone()[0] == 1
    finally:
        conn.close()


# ------------------------------------------------------------------ connection helpers


def test_journal_mode_comes_from_argument_then_environment(monkeypatch: Any) -> None:
    monkeypatch.delenv("LUTE_DB_JOURNAL_MODE", raising=False)
    assert resolve_journal_mode(None) == "WAL"
    monkeypatch.setenv("LUTE_DB_JOURNAL_MODE", "delete")
    assert resolve_journal_mode(None) == "DELETE"
    assert resolve_journal_mode("truncate") == "TRUNCATE"
    with pytest.raises(DatabaseError, match=r"'OFF'.*LUTE_DB_JOURNAL_MODE"):
        monkeypatch.setenv("LUTE_DB_JOURNAL_MODE", "OFF")
        resolve_journal_mode(None)


def test_retry_busy_retries_only_lock_errors() -> None:
    # Lock errors the busy handler does not cover (WAL recovery, snapshot upgrades) reach
    # Python directly; this drives the same code path deterministically.
    failures = [sqlite3.OperationalError("database is locked")] * 3
    calls = []

    def flaky() -> str:
        calls.append(1)
        if failures:
            raise failures.pop()
        return "ok"

    assert retry_busy(flaky, 5.0, "test") == "ok"
    assert len(calls) == 4

    def broken() -> None:
        raise sqlite3.OperationalError("no such table: x")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_busy(broken, 5.0, "test")


def test_retry_busy_gives_up_after_the_timeout() -> None:
    def always_locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(DatabaseError, match=r"stayed locked.*attempts"):
        retry_busy(always_locked, 0.05, "writing somewhere")


def test_is_busy_recognises_sqlite_lock_messages() -> None:
    assert is_busy(sqlite3.OperationalError("database is locked"))
    assert is_busy(sqlite3.OperationalError("database table is locked"))
    assert not is_busy(sqlite3.OperationalError("disk I/O error"))
    assert not is_busy(ValueError("locked"))


def test_parameter_surrogate_with_field_named_items_is_stored() -> None:
    from lute.io.parameters import TaskParameters

    surrogate = TaskParameters({"items": [1, 2], "keys": {"a": 1}})
    assert values.to_json_data(surrogate, "") == {"items": [1, 2], "keys": {"a": 1}}
