"""Benchmarks, one package per topic: `python -m bench.<topic>`."""
