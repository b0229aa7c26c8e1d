"""Pipeline runs: run, list, read, cancel, replay, input, logs, stages, steps, reports."""

from __future__ import annotations

from services.apiserver.pipelines.deps import UsesDeps


class RunMethods(UsesDeps):
    pass
