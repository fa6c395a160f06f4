"""Validated model -> JSON text -> the runtime's stdlib surrogate (and back)."""

from __future__ import annotations

import datetime
import enum
import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pydantic
import pytest

from lute.io.models import tests as test_models
from lute.io.models.base import AnalysisHeader, Field, TaskParameters
from lute.io.models.wire import from_wire, to_wire, to_wire_json
from lute.io.parameters import TaskParameters as Surrogate


class Detector(enum.Enum):
    EPIX = "epix10k"
    JUNGFRAU = "jungfrau"


class Geometry(pydantic.BaseModel):
    file: Path = Path("/geom/default.geom")
    distance_mm: float = 100.0
    shifts: Tuple[int, int] = (0, 0)


class Rich(TaskParameters):
    detector: Detector = Field(Detector.EPIX)
    geometry: Geometry = Field(default_factory=Geometry)
    out_dir: Path = Path("/out")
    taken: datetime.date = datetime.date(2026, 11, 25)
    stamp: datetime.datetime = datetime.datetime(2026, 11, 25, 12, 30, 5)
    mask: Optional[str] = None
    levels: List[float] = [0.5, 1.5]
    labels: Dict[str, int] = {"a": 1}


def _header(tmp_path: Path) -> AnalysisHeader:
    return AnalysisHeader(experiment="TST12345", run="0012", work_dir=str(tmp_path))


def test_round_trip_through_json_text_to_the_surrogate(tmp_path: Path) -> None:
    model = Rich(lute_config=_header(tmp_path), detector=Detector.JUNGFRAU)
    text = to_wire_json(model)
    surrogate = Surrogate.from_wire(json.loads(text), model_name="Rich")
    assert surrogate.detector == "jungfrau"
    assert surrogate.geometry.file == "/geom/default.geom"
    assert surrogate.geometry.distance_mm == 100.0
    assert list(surrogate.geometry.shifts) == [0, 0]
    assert surrogate.out_dir == "/out"
    assert surrogate.taken == "2026-11-25"
    assert surrogate.stamp == "2026-11-25T12:30:05"
    assert surrogate.mask is None
    assert list(surrogate.levels) == [0.5, 1.5] and surrogate.labels.a == 1
    assert surrogate.lute_config.run == 12 and surrogate.lute_config.experiment == "TST12345"
    assert surrogate.lute_config.work_dir == str(tmp_path)
    assert surrogate.dict() == to_wire(model)
    with pytest.raises(TypeError, match="read-only"):
        surrogate.mask = "x"  # type: ignore[misc]


def test_wire_form_rebuilds_the_pydantic_model(tmp_path: Path) -> None:
    model = Rich(lute_config=_header(tmp_path))
    again = from_wire(Rich, json.loads(to_wire_json(model)))
    assert again == model
    assert isinstance(again.out_dir, Path) and again.detector is Detector.EPIX


def test_test_parameters_as_the_test_task_reads_them(tmp_path: Path) -> None:
    model = test_models.TestParameters(lute_config=_header(tmp_path), exit_code=3)
    params = Surrogate.from_wire(json.loads(to_wire_json(model)))
    assert (params.float_var, params.str_var, params.throw_error) == (0.01, "test", False)
    assert params.compound_var.int_var == 1 and dict(params.compound_var.dict_var) == {"a": "b"}
    assert (params.sleep_seconds, params.print_lines, params.exit_code) == (0.0, 0, 3)
    assert params.segfault is False


def test_non_finite_floats_survive_the_trip(tmp_path: Path) -> None:
    model = test_models.TestParameters(lute_config=_header(tmp_path), float_var=float("-inf"))
    params = Surrogate.from_wire(json.loads(to_wire_json(model)))
    assert params.float_var == float("-inf")
