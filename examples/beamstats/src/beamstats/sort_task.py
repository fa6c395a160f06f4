"""SortShots: a third-party Task. GNU ``sort`` does the work; LUTE builds its command line.

:class:`~lute.tasks.task.ThirdPartyTask` runs the program the Executor built from the
parameters (``sort_model.py``) and, unless the Task set one, gives it the summary
``sort exited with code 0``. The only code here records the output file as the result.
"""

from __future__ import annotations

from lute.tasks.task import ThirdPartyTask

__all__ = ["SortShots"]


class SortShots(ThirdPartyTask):
    """Sort intensities, largest first, with GNU sort."""

    def _post_run(self) -> None:
        super()._post_run()  # the summary: "sort exited with code 0"
        self._result.payload = self._task_parameters.output  # the sorted file
