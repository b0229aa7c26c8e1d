"""Benchmark of the Jenkinsfile converter: ``python -m bench.converter``."""
