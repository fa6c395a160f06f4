"""Cyclic garbage collection paused while ``lute-exec`` starts up.

Importing pydantic and building the models creates hundreds of thousands of objects
and almost no garbage, yet triggers collection after collection: about a tenth of the
start-up time. ``lute-exec`` pauses the collector and passes :func:`resume` to
``execute_task(on_launched=...)``: once the Task has been launched, :func:`resume` freezes
what start-up created (it lives until the run ends) and turns collection back on for the
run itself. The Executor used as a library knows nothing of this and pauses nothing.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Turn off cyclic collection until :func:`resume` (only if it was on)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Undo :func:`pause`: freeze the start-up objects and collect again. Idempotent."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
