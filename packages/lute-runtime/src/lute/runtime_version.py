"""Version of the lute-runtime distribution (kept cheap to import: no metadata lookup)."""

__version__ = "0.1.0"
