"""Parameter models of a facility package, written as the original LUTE's models are."""

from typing import Any, Dict, Optional

from pydantic import Field, validator

from lute.io.db import read_latest_db_entry
from lute.io.models.base import TaskParameters, TemplateConfig, ThirdPartyParameters


class MakePeaksParameters(TaskParameters):
    """Parameters of MakePeaks: writes a file of peaks; the file is the result."""

    class Config(TaskParameters.Config):
        set_result = True
        version_location = True

    out_file: str = Field("", description="Where the peaks go.", is_result=True)
    n_peaks: int = Field(5, description="How many peaks.")

    @validator("out_file", always=True)
    def validate_out_file(cls, out_file: str, values: Dict[str, Any]) -> str:
        if out_file == "":
            header = values["lute_config"]
            return f"{header.work_dir}/peaks_r{int(header.run):04d}.txt"
        return out_file


class FitPeaksParameters(TaskParameters):
    """Parameters of FitPeaks: reads the file MakePeaks wrote (found in the database)."""

    in_file: str = Field("", description="The peaks file (default: MakePeaks' result).")
    threshold: float = Field(1.5, description="Peaks above it are kept.")
    made: Optional[int] = Field(None, description="How many peaks MakePeaks was asked for.")

    @validator("in_file", always=True)
    def validate_in_file(cls, in_file: str, values: Dict[str, Any]) -> str:
        if in_file == "":
            work_dir = values["lute_config"].work_dir
            found: Optional[str] = read_latest_db_entry(f"{work_dir}", "MakePeaks", "out_file")
            if found is not None:
                return found
        return in_file

    @validator("made", always=True)
    def validate_made(cls, made: Optional[int], values: Dict[str, Any]) -> Optional[int]:
        if made is None:
            work_dir = values["lute_config"].work_dir
            return read_latest_db_entry(work_dir, "MakePeaks", "n_peaks")
        return made


class CatConfigParameters(ThirdPartyParameters):
    """A third-party program that prints the configuration file rendered for it."""

    executable: str = Field("/bin/cat", description="The program.")
    lute_template_cfg: TemplateConfig = Field(
        TemplateConfig(template_name="cat.cfg", output_path="cat/cat.cfg"),
        description="Its configuration file.",
    )
    p_arg1: str = Field("", description="The file it reads.")

    @validator("p_arg1", always=True)
    def validate_p_arg1(cls, p_arg1: str, values: Dict[str, Any]) -> str:
        if p_arg1 == "":
            return f"{values['lute_config'].work_dir}/cat/cat.cfg"
        return p_arg1
