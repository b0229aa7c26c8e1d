"""Pipeline definitions: create, read, update, rename, delete, toggle, sync, Jenkinsfile and
JSON editing (`Pipelines` service methods about the pipeline itself)."""

from __future__ import annotations

from services.apiserver.pipelines.deps import UsesDeps


class DefinitionMethods(UsesDeps):
    pass
