"""Parameter model of SortShots: each field is a flag of ``sort``, or feeds its template.

With the defaults and ``values: [3.5, 10, 7.25]`` the program runs as::

    sort --numeric-sort -r --output=<work_dir>/sorted_r0001.txt <work_dir>/shots.txt

after ``templates/shots.txt.j2`` (beside this module) was rendered to ``shots.txt``.
"""

from __future__ import annotations

from typing import List

from lute.io.models.base import Field, TemplateConfig, ThirdPartyParameters
from lute.io.models.validators import template_default

__all__ = ["SortShotsParameters"]


class SortShotsParameters(ThirdPartyParameters):
    """Parameters of ``SortShots``."""

    class Config(ThirdPartyParameters.Config):
        set_result = True  # the result is known from the parameters: the output file
        long_flags_use_eq = True  # --output=FILE rather than --output FILE

    executable: str = Field("sort", description="The program (looked up on PATH).")
    numeric_sort: bool = Field(
        True, flag_type="--", rename_param="numeric-sort", description="Compare as numbers."
    )
    reverse: bool = Field(True, flag_type="-", rename_param="r", description="Largest first.")
    values: List[float] = Field(
        default_factory=list, is_flag=False, description="The intensities the template lists."
    )
    shots_file: TemplateConfig = Field(
        TemplateConfig(template_name="shots.txt.j2", output_path="shots.txt"),
        description="The program's input, rendered from a template before it starts.",
    )
    output: str = template_default(
        "{work_dir}/sorted_r{run:04d}.txt",
        flag_type="--",
        is_result=True,
        description="The sorted file: the Task's result.",
    )
    p_arg1: str = template_default(
        "{work_dir}/shots.txt", flag_type="", description="The input file (positional)."
    )
