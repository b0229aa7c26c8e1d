"""CI: Jenkins instances, pipelines and runs."""
