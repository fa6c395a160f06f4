"""Models written in the seed's (pydantic v1) style work on pydantic v2 without warnings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path
from typing import Any

import pydantic
import pytest

from lute.io.models.base import (
    AnalysisHeader,
    LuteConfigDict,
    TaskParameters,
    ThirdPartyParameters,
    lute_options,
)
from lute.io.models.options import field_extra

SEED_MODULE = '''
from typing import Any, Dict, List, Optional

from pydantic import Field, root_validator, validator

from lute.io.models.base import TaskParameters, ThirdPartyParameters


class RunTaskParameters(ThirdPartyParameters):
    """Parameters of a third-party program, exactly as the original docs write them."""

    class Config(ThirdPartyParameters.Config):
        set_result = True
        long_flags_use_eq = True
        underscore_attrs_are_private = True
        allow_population_by_field_name = True

    executable: str = Field("/bin/echo", description="Program.")
    in_file: str = Field("", description="Input file.", flag_type="--")
    out_file: str = Field(
        "", description="Output file.", flag_type="--", rename_param="out", is_result=True
    )
    nproc: int = Field(4, description="Processes.", flag_type="-", min_items=None)

    @validator("out_file", always=True)
    def validate_out_file(cls, out_file: str, values: Dict[str, Any]) -> str:
        if out_file == "":
            return "%s/out_r%s.h5" % (values["lute_config"].work_dir, values["lute_config"].run)
        return out_file

    @validator("nproc", pre=True)
    def validate_nproc(cls, nproc: Any) -> Any:
        return 1 if nproc in (None, "") else nproc

    @root_validator
    def check_files_differ(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if values.get("in_file") and values.get("in_file") == values.get("out_file"):
            raise ValueError("in_file and out_file must differ")
        return values


class AnalysisParameters(TaskParameters):
    class Config(TaskParameters.Config):
        set_result = True
        result_from_params = "{out_dir}/{name}.txt"
        result_summary = "wrote {name}"
        run_directory = "analysis"

    out_dir: str = Field("/tmp", description="Where.")
    name: str = Field("spectrum", description="What.")

    @root_validator(pre=True)
    def default_name(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        values.setdefault("name", "fallback")
        return values
'''


def _header(tmp_path: Path, **values: Any) -> AnalysisHeader:
    values.setdefault("experiment", "TST12345")
    values.setdefault("run", 12)
    return AnalysisHeader(work_dir=str(tmp_path), **values)


def _define(source: str, name: str = "seed_models") -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, "<%s>" % name, "exec"), module.__dict__)
    return module


@pytest.fixture
def seed(tmp_path: Path) -> types.ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return _define(SEED_MODULE)


def test_seed_definition_raises_no_warning_under_error_filter() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        module = _define(SEED_MODULE)
    assert caught == []
    assert issubclass(module.RunTaskParameters, ThirdPartyParameters)


def test_the_same_body_on_plain_pydantic_does_warn() -> None:
    # Control: proves the test above would catch pydantic's deprecation warnings.
    source = textwrap.dedent(
        """
        from pydantic import BaseModel, Field, validator

        class Plain(BaseModel):
            class Config:
                extra = "forbid"
            x: int = Field(1, flag_type="-")

            @validator("x")
            def check(cls, x):
                return x
        """
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning):
            _define(source, "plain_models")


def test_importing_lute_models_and_config_is_warning_free() -> None:
    # get_model imports each built-in model's module (list_models imports nothing)
    code = (
        "import lute.io.config, lute.io.models.registry as r\n"
        "for name in r.list_models(): r.get_model(name).model_json_schema()"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_seed_field_markers_live_in_json_schema_extra(seed: types.ModuleType) -> None:
    fields = seed.RunTaskParameters.model_fields
    assert field_extra(fields["out_file"], "is_result") is True
    assert field_extra(fields["out_file"], "rename_param") == "out"
    assert field_extra(fields["in_file"], "flag_type") == "--"
    assert fields["in_file"].description == "Input file."


def test_seed_validators_run_with_values_always_and_pre(
    seed: types.ModuleType, tmp_path: Path
) -> None:
    model = seed.RunTaskParameters(lute_config=_header(tmp_path), nproc="")
    assert model.out_file == "%s/out_r12.h5" % tmp_path
    assert model.nproc == 1
    given = seed.RunTaskParameters(lute_config=_header(tmp_path), out_file="/x.h5")
    assert given.out_file == "/x.h5"


def test_bare_root_validator_runs_after_fields(seed: types.ModuleType, tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="in_file and out_file must differ"):
        seed.RunTaskParameters(lute_config=_header(tmp_path), in_file="/a", out_file="/a")


def test_pre_root_validator_sees_raw_input(seed: types.ModuleType, tmp_path: Path) -> None:
    assert seed.AnalysisParameters(lute_config=_header(tmp_path)).name == "fallback"


def test_class_config_becomes_model_config_and_stays_reachable(seed: types.ModuleType) -> None:
    cls = seed.RunTaskParameters
    assert cls.model_config["set_result"] is True
    assert cls.model_config["populate_by_name"] is True  # v1 name translated
    assert "underscore_attrs_are_private" not in cls.model_config  # gone in v2: dropped
    assert cls.model_config["extra"] == "forbid"  # inherited from TaskParameters
    assert issubclass(cls.Config, ThirdPartyParameters.Config)
    options = lute_options(cls)
    assert options.set_result and options.long_flags_use_eq and not options.short_flags_use_eq


def test_every_lute_option_has_its_default_on_the_base() -> None:
    assert lute_options(TaskParameters) == lute_options(ThirdPartyParameters)
    options = lute_options(TaskParameters)
    assert options.run_directory is None and options.set_result is False
    assert options.result_from_params is None and options.result_summary is None
    assert options.impl_schemas is None


def test_modern_model_config_form(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Modern(ThirdPartyParameters):
            model_config = LuteConfigDict(short_flags_use_eq=True, set_result=True)
            executable: str = "/bin/true"
            out: str = pydantic.Field("/o", json_schema_extra={"is_result": True})

    options = lute_options(Modern)
    assert options.short_flags_use_eq and options.set_result
    assert Modern.model_config["extra"] == "forbid"
    assert Modern.Config.short_flags_use_eq is True  # the seed-style view agrees
    known = Modern(lute_config=_header(tmp_path)).known_result()
    assert known is not None and known.payload == "/o"


def test_class_defined_in_a_function_with_local_imports(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from pydantic import Field, validator

        class Local(TaskParameters):
            value: int = Field(1, flag_type="-", description="d")

            @validator("value")
            def double(cls, value: int) -> int:
                return value * 2

            class Nested(pydantic.BaseModel):
                # A plain pydantic model inside: pydantic's Field is kept untouched.
                n: int = Field(3)

    assert Local(lute_config=_header(tmp_path), value=2).value == 4
    assert Local.Nested().n == 3
    assert field_extra(Local.model_fields["value"], "flag_type") == "-"


def test_names_that_are_not_pydantic_objects_are_never_replaced(tmp_path: Path) -> None:
    def Field(default: Any, **_: Any) -> Any:
        return default + 1

    class Own(TaskParameters):
        value: int = Field(1)

    assert Own(lute_config=_header(tmp_path)).value == 2


def test_known_result_from_is_result_field(seed: types.ModuleType, tmp_path: Path) -> None:
    model = seed.RunTaskParameters(lute_config=_header(tmp_path), out_file="/data/o.h5")
    known = model.known_result()
    assert known is not None
    assert known.payload == "/data/o.h5" and known.summary is None


def test_known_result_from_params_template_and_summary(
    seed: types.ModuleType, tmp_path: Path
) -> None:
    model = seed.AnalysisParameters(lute_config=_header(tmp_path), name="fit")
    known = model.known_result()
    assert known is not None
    assert (known.payload, known.summary) == ("/tmp/fit.txt", "wrote fit")


def test_known_result_from_a_callable_and_runtime_config_change(tmp_path: Path) -> None:
    class Computed(TaskParameters):
        class Config(TaskParameters.Config):
            set_result = True

        count: int = 3

    model = Computed(lute_config=_header(tmp_path))
    assert model.known_result() is None  # set_result but nothing defines the result
    # Seed code sets the option from a validator at run time; that is honoured.
    Computed.Config.result_from_params = staticmethod(lambda m: m.count * 2)
    known = model.known_result()
    assert known is not None and known.payload == 6
    assert lute_options(TaskParameters).result_from_params is None  # base untouched


def test_no_result_without_set_result(tmp_path: Path) -> None:
    class NoResult(TaskParameters):
        out: str = pydantic.Field("/o", json_schema_extra={"is_result": True})

    assert NoResult(lute_config=_header(tmp_path)).known_result() is None


def test_run_directory_relative_to_work_dir_with_placeholders(
    seed: types.ModuleType, tmp_path: Path
) -> None:
    model = seed.AnalysisParameters(lute_config=_header(tmp_path))
    assert model.resolved_run_directory() == str(tmp_path / "analysis")

    class Absolute(TaskParameters):
        class Config(TaskParameters.Config):
            run_directory = "/scratch/{lute_config.experiment}/{step}"

        step: str = "index"

    assert Absolute(lute_config=_header(tmp_path)).resolved_run_directory() == (
        "/scratch/TST12345/index"
    )
    assert TaskParameters(lute_config=_header(tmp_path)).resolved_run_directory() is None


def test_unknown_parameters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        TaskParameters(lute_config=_header(tmp_path), nonsense=1)


def test_header_normalises_run_and_paths(tmp_path: Path) -> None:
    header = _header(tmp_path, run="0012", db_path="rel/lute.db")
    assert header.run == 12
    assert header.db_path is not None and Path(header.db_path).is_absolute()
    assert _header(tmp_path, run="dark").run == "dark"
    assert _header(tmp_path).database_path() == str(tmp_path / "lute.db")
    with pytest.raises(pydantic.ValidationError, match="true/false"):
        _header(tmp_path, run=True)


def test_header_refuses_a_file_as_work_dir(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(pydantic.ValidationError, match="not a directory"):
        AnalysisHeader(work_dir=str(afile))


def test_header_does_not_create_the_work_dir(tmp_path: Path) -> None:
    header = AnalysisHeader(work_dir=str(tmp_path / "later"))
    assert header.work_dir == str(tmp_path / "later")
    assert not (tmp_path / "later").exists()


def test_computed_default_needs_an_annotation() -> None:
    from lute.io.models.validators import template_default

    with pytest.raises(TypeError, match="needs a type annotation"):

        class Broken(TaskParameters):
            out = template_default("{run}")
