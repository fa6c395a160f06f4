"""LUTE parameter models (pydantic v2)."""
