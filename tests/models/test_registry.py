"""Model lookup by Task name (built-in and entry points) and model descriptions."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from lute.io.models import tests as test_models
from lute.io.models.base import TaskParameters, ThirdPartyParameters
from lute.io.models.describe import describe_model, model_schema, parameter_rows
from lute.io.models.registry import (
    BUILTIN_MODELS,
    UnknownModelError,
    get_model,
    list_models,
    load_model_reference,
    model_reference,
)
from tests.conftest import install_distribution

BUILT_IN = {
    "Test": test_models.TestParameters,
    "TestSocket": test_models.TestSocketParameters,
    "TestWriteOutput": test_models.TestWriteOutputParameters,
    "TestReadOutput": test_models.TestReadOutputParameters,
    "TestBinary": test_models.TestBinaryParameters,
    "MPITest": test_models.MPITestParameters,
}


@pytest.mark.parametrize("task_name", sorted(BUILT_IN))
def test_built_in_models_by_task_name(task_name: str) -> None:
    assert get_model(task_name) is BUILT_IN[task_name]


def test_builtin_index_lists_every_model_the_package_defines() -> None:
    """``BUILTIN_MODELS`` is kept by hand: it must match the model classes themselves."""
    import lute.io.models

    defined = {}
    for info in pkgutil.walk_packages(lute.io.models.__path__, "lute.io.models."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            if (
                attribute.endswith("Parameters")
                and isinstance(value, type)
                and issubclass(value, TaskParameters)
                and value not in (TaskParameters, ThirdPartyParameters)
                and value.__module__ == module.__name__
            ):
                defined[attribute[: -len("Parameters")]] = model_reference(value)
    assert defined == BUILTIN_MODELS


def test_a_run_imports_only_its_own_model() -> None:
    code = (
        "import sys; from lute.io.models.registry import get_model; get_model('Test'); "
        "print(sorted(m for m in sys.modules if m.startswith('lute.io.models.tests')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert imported.strip() == "['lute.io.models.tests', 'lute.io.models.tests.echo']"


def test_test_models_are_importable_from_the_package() -> None:
    from lute.io.models.tests import echo

    assert test_models.TestParameters is echo.TestParameters
    assert "MPITestParameters" in dir(test_models)
    star: dict = {}
    exec("from lute.io.models.tests import *", star)
    assert set(test_models.__all__) <= set(star)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        test_models.Nope  # noqa: B018


def test_base_classes_are_not_tasks() -> None:
    for name in ("Task", "ThirdParty", "Tests"):
        with pytest.raises(UnknownModelError):
            get_model(name)


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(UnknownModelError) as caught:
        get_model("TestSockt")
    assert caught.value.suggestions[0] == "TestSocket"
    assert "did you mean 'TestSocket'" in str(caught.value)
    assert "Known Tasks: MPITest, Test, TestBinary" in str(caught.value)
    with pytest.raises(UnknownModelError) as lowercase:
        get_model("test")
    assert lowercase.value.suggestions[0] == "Test"


def test_reference_round_trip() -> None:
    reference = model_reference(test_models.TestParameters)
    assert reference == "lute.io.models.tests.echo:TestParameters"
    assert load_model_reference(reference) is test_models.TestParameters
    # the package-level name still resolves (hand-off documents of earlier versions)
    assert load_model_reference("lute.io.models.tests:TestParameters") is test_models.TestParameters
    with pytest.raises(ValueError, match="looks like"):
        load_model_reference("lute.io.models.tests.TestParameters")
    with pytest.raises(ValueError, match="has no"):
        load_model_reference("lute.io.models.tests:Nope")
    with pytest.raises(ValueError, match="not a TaskParameters"):
        load_model_reference("lute.io.models.tests:CompoundVar")


FACILITY_MODULE = '''
from pydantic import Field
from lute.io.models.base import TaskParameters

class FitLineParameters(TaskParameters):
    """Fit one emission line."""
    peak_kev: float = Field(3.2, gt=0, description="Line centre.", flag_type="--")

def helper():
    return 1
'''


@pytest.fixture
def facility_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real installed distribution (dist-info on sys.path) with lute.models entry points."""
    module = "lute_facility_models_%d" % id(tmp_path)
    install_distribution(
        tmp_path,
        "lute-facility-models",
        {
            "lute.models": {
                "FitLine": "%s:FitLineParameters" % module,
                "Broken": "%s_missing:Nope" % module,
                "NotAModel": "%s:helper" % module,
            }
        },
        {module: FACILITY_MODULE},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield module
    sys.modules.pop(module, None)


def test_entry_point_models(facility_package: str) -> None:
    model = get_model("FitLine")
    assert model.__module__ == facility_package
    listing = list_models()
    assert listing["FitLine"] == "%s:FitLineParameters" % facility_package
    assert listing["Broken"] == "%s_missing:Nope" % facility_package  # listed, not imported
    assert listing["Test"] == "lute.io.models.tests.echo:TestParameters"


def test_broken_entry_points_are_named(facility_package: str) -> None:
    with pytest.raises(ImportError, match=r"entry point Broken = .*_missing:Nope failed to load"):
        get_model("Broken")
    with pytest.raises(TypeError, match=r"NotAModel .* is not a TaskParameters subclass"):
        get_model("NotAModel")


def test_unknown_names_suggest_entry_points_too(facility_package: str) -> None:
    with pytest.raises(UnknownModelError, match="did you mean 'FitLine'"):
        get_model("FitLin")


def test_describe_lists_name_type_default_description() -> None:
    text = describe_model(test_models.TestParameters)
    lines = text.splitlines()
    assert lines[0].startswith("TestParameters: Parameters of ``Test``")
    assert lines[2].split() == ["parameter", "type", "default", "description"]
    rows = {line.split()[0]: line for line in lines[4:] if line and not line.startswith(" ")}
    assert rows["float_var"].split()[:3] == ["float_var", "float", "0.01"]
    assert rows["compound_var.dict_var"].split()[:2] == ["compound_var.dict_var", "Dict[str,"]
    assert rows["exit_code"].split()[:3] == ["exit_code", "Optional[int]", "None"]
    assert "lute_config" not in rows
    assert "lute_config.run" in describe_model(test_models.TestParameters, include_header=True)


def test_describe_third_party_shows_flags() -> None:
    rows = {row.name: row for row in parameter_rows(test_models.TestBinaryParameters)}
    assert rows["p"].flag == "-p" and rows["out_name"].flag == "--out-file"
    assert rows["p_arg1"].flag == "(positional)" and rows["note"].flag == "(not passed)"
    assert "flag" in describe_model(test_models.TestBinaryParameters).splitlines()[2]


def test_describe_marks_required_and_computed() -> None:
    rows = {row.name: row for row in parameter_rows(test_models.TestReadOutputParameters)}
    assert rows["in_file"].default == "(latest COMPLETED result of TestWriteOutput)"
    header_rows = {
        row.name: row for row in parameter_rows(test_models.TestParameters, include_header=True)
    }
    assert header_rows["lute_config"].default == "(required)"


@pytest.mark.parametrize("task_name", sorted(BUILT_IN))
def test_json_schema_of_every_built_in_model(task_name: str) -> None:
    schema = model_schema(BUILT_IN[task_name])
    text = json.dumps(schema)
    assert json.loads(text)["title"] == BUILT_IN[task_name].__name__
    assert "lute_config" in schema["properties"]


def test_schema_carries_lute_markers() -> None:
    properties = model_schema(test_models.TestBinaryParameters)["properties"]
    assert properties["out_name"]["rename_param"] == "out-file"
    assert properties["p"]["flag_type"] == "-"
    assert properties["note"]["is_flag"] is False
