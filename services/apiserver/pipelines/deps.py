"""What the pipeline-side servicers of apiserver are built with."""

from __future__ import annotations

from dataclasses import dataclass

from libs.common.config import Settings
from libs.devops_client import DevopsClient
from libs.kube.clusters import ClusterClients


@dataclass
class Deps:
    settings: Settings
    devops: DevopsClient
    clusters: ClusterClients


class UsesDeps:
    """Base of every servicer mixin here: the dependencies as attributes."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.devops = deps.devops
        self.clusters = deps.clusters
