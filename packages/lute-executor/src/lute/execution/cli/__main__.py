"""``python -m lute.execution.cli``: the ``lute-exec`` command."""

from lute.execution.cli import console_main

console_main()
