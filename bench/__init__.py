"""govhall's load benchmark: ``python -m bench --help`` (docs/performance.md)."""
