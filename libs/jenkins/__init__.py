"""The asyncio client of Jenkins (core, Pipeline, Stage View, Blue Ocean, Credentials, CasC).

    async with JenkinsClient(address, username, api_token) as jenkins:
        await jenkins.ensure_folder("7")
        await jenkins.create_or_update_job(("7", "build-app"), config_xml)
        queue_id = await jenkins.build(("7", "build-app"), {"BRANCH": "main"})

`_client` holds the client and its decisions (crumbs, redirects, logging), `_paths` how item
names become URLs, `errors` the error hierarchy and the one function that builds it.
"""

from libs.jenkins._client import FOLDER_CLASS, JenkinsClient, LogChunk, QueueItem
from libs.jenkins._paths import ItemPath
from libs.jenkins.errors import (
    JenkinsBadRequest,
    JenkinsConflict,
    JenkinsError,
    JenkinsNotFound,
    JenkinsUnauthorized,
    JenkinsUnreachable,
)

__all__ = [
    "FOLDER_CLASS",
    "ItemPath",
    "JenkinsBadRequest",
    "JenkinsClient",
    "JenkinsConflict",
    "JenkinsError",
    "JenkinsNotFound",
    "JenkinsUnauthorized",
    "JenkinsUnreachable",
    "LogChunk",
    "QueueItem",
]
