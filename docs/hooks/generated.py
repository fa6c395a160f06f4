"""mkdocs hook placeholder."""
