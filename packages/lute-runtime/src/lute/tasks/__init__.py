"""LUTE Tasks: the Task base classes, dataclasses and built-in Tasks."""
