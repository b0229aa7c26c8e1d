"""Each workspace's credential Secrets, mirrored as credentials into its Jenkins folder.

apiserver keeps a workspace's credentials as Secrets in the control-plane cluster (the shape
is defined in `services.apiserver.credentials`: the credentials namespace, labels
`workbench.io/workspace`, `workbench.io/credential` and `app.kubernetes.io/managed-by:
workbench`, the type and description as annotations). Pipelines name a credential by its
name, so each Secret must exist as a credential with that id in the folder store of the
workspace's folder (`job/<workspaceId>/credentials/store/folder/domain/_/`) on the Jenkins
instance the workspace uses now.

The `jenkins-credentials` controller is keyed by workspace id, with the queue, per-key
backoff, resync and metrics of every syncer controller. Its inputs are watched: a `ListWatch`
on the credential Secrets (its events queue the Secret's workspace) and devops-server's
change stream (a workspace moved to another instance, by hand or with the default instance
it follows, is a workspace change). Jenkins offers no watch, so a credential edited or
deleted there by hand is repaired by the next resync.

A reconcile of workspace `7`, told nothing about why it runs:

1. Desired: every Secret of workspace 7 in the watch's cache (one being deleted counts as
   gone) rendered as the credential's config.xml. A Secret that cannot be rendered (an
   unknown type, a value missing, a character XML cannot carry, a second Secret for an id)
   is reported once per version and skipped; its id stays claimed, so nothing with that id
   is deleted.
2. `GetWorkspaceCI` names the instance; none, or a workspace gone, leaves Jenkins alone (the
   folder of a workspace that no longer exists is not this controller's to empty).
3. Actual: one read of the folder store, `id` and `description` of each credential. A
   missing folder is created when there is something to put in it.
4. A credential is written when its description differs from the desired one: created if
   absent, replaced otherwise; one that Workbench did not create is replaced too (with a
   warning), since the workspace's credential of that name is what its pipelines ask for.
   A credential that carries our marker and whose id no Secret of the workspace claims is
   deleted. Credentials without the marker are never deleted.
5. One credential Jenkins refuses does not hold back the others: the rest are converged and
   the key then fails, to be retried with its backoff. Jenkins unreachable fails the key at
   once; only this workspace's key backs off, other workspaces and controllers go on.

Our marker, and the content hash. The description Jenkins keeps with each credential is the
Secret's description followed by `[managed by Workbench: <digest>]`, where `<digest>` is an
HMAC-SHA256 (first 32 hex digits) of the config.xml we would post (without the marker),
keyed by the Secret's `metadata.uid`. So:

- an unchanged Secret renders the same description and costs no write; a changed value,
  description or type changes the digest and the credential is updated;
- the marker tells our credentials from everyone else's, which is what makes deleting
  orphans safe;
- the digest says nothing about the values to anyone reading Jenkins: the key is the
  Secret's uid, which Jenkins never sees, so a weak password cannot be guessed from it.
  A Secret deleted and created again gets a new uid, and its credential is written again.

Credentials are matched by description only, because Jenkins never returns secret values
(config.xml comes back `<secret-redacted/>`): a value changed by hand in Jenkins that keeps
the description is not noticed.
# TODO: detect values edited in Jenkins. The REST API's `fingerprint` of a credential may
# be a digest of its stored form, but reading it creates a fingerprint record in Jenkins (a
# write per read) and whether it covers the secret values is unverified; a periodic rewrite
# would break "no writes at rest".

Deletion, and Jenkins being down. No finalizer holds a Secret: deleting it removes it from
the cluster at once, and the credential becomes an orphan of ours that every reconcile of the
workspace deletes. The Secret's DELETED event queues the workspace at once; while Jenkins is
down the key backs off (up to the backoff cap) and the deletion completes on the first
reconcile after Jenkins answers again. A syncer that was not running meanwhile finds the
orphan at its first resync, since the desired state is all the Secrets there are. (A
finalizer would add nothing the marker does not give, and would leave Secrets stuck when no
syncer runs.)

Moving a workspace: the next reconcile reads the new instance from `GetWorkspaceCI` and
converges that folder; the old folder, our credentials in it included, is removed by the
`jenkins-jobs` controller once the move is complete. `missing(workspace, client)` tells
which credentials an instance still lacks, for a move that should wait for them.

Writes count in `workbench_syncer_repairs_total{provider="jenkins-credentials"}` (`created`,
`updated`, `deleted`); a converged system makes none. No log line or error carries a value:
they name the workspace, the credential id and the instance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client
from workbench_sdk.devops.v1 import jenkins_pb2

from libs.common.errors import NotFound, Unavailable
from libs.controller import ListWatch
from libs.devops_client import DevopsClient
from libs.jenkins import JenkinsClient, JenkinsError, JenkinsNotFound
from libs.kube.objects import ObjectCache
from services.syncer.instances import InstanceClients
from services.syncer.provider import MANAGED_BY, REPAIRS, WORKSPACE_LABEL, labelled_workspace
from services.syncer.tenancy import TenancyView

__all__ = ["JenkinsCredentials", "Unusable", "desired_credential", "ours"]

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

# The Secrets, as `services.apiserver.credentials` writes them (in the namespace of the
# `credentials_namespace` setting, given to the controller).
CREDENTIAL_LABEL = "workbench.io/credential"
TYPE_ANNOTATION = "workbench.io/credential-type"
DESCRIPTION_ANNOTATION = "workbench.io/description"
SELECTOR = f"{CREDENTIAL_LABEL},{MANAGED_BY[0]}={MANAGED_BY[1]}"

_MARKER = re.compile(r"\[managed by Workbench: [0-9a-f]{32}\]\Z")
# What XML 1.0 cannot carry at all; a value holding it cannot reach Jenkins.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DIRECT_ENTRY = (
    "com.cloudbees.jenkins.plugins.sshcredentials.impl."
    "BasicSSHUserPrivateKey$DirectEntryPrivateKeySource"
)
_CLASSES = {
    "USERNAME_PASSWORD": "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
    "SECRET_TEXT": "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl",
    "SSH_KEY": "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey",
    "KUBECONFIG": "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl",
}


class Unusable(Exception):
    """A Secret that cannot become a Jenkins credential; the message names no value."""


class Incomplete(Exception):
    """Some credentials of the workspace could not be written; the key is retried."""


@dataclass(frozen=True)
class Credential:
    """What one Secret should be in Jenkins."""

    id: str
    description: str  # with our marker: the only part compared
    xml: str


def ours(description: str) -> bool:
    """Whether a Jenkins credential's description carries Workbench's marker."""
    return _MARKER.search(description) is not None


def desired_credential(secret: Obj) -> Credential:
    """The credential a Secret stands for, with its marked description; `Unusable` if the
    Secret cannot be one."""
    metadata = secret.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    credential_id = (metadata.get("labels") or {}).get(CREDENTIAL_LABEL, "")
    kind = annotations.get(TYPE_ANNOTATION, "")
    class_name = _CLASSES.get(kind)
    if not credential_id or class_name is None:
        raise Unusable(f"type {kind[:40]!r} is not one Workbench mirrors into Jenkins")

    data = _decoded(secret.get("data") or {})
    fields = _fields(kind, data)
    text = _plain(annotations.get(DESCRIPTION_ANNOTATION, ""))
    for name, value in fields:
        if _NOT_XML.search(value):
            raise Unusable(f"{name} holds a control character XML cannot carry")

    unmarked = _xml(class_name, credential_id, text, fields)
    key = str(metadata.get("uid") or "").encode()
    digest = hmac.new(key, unmarked.encode(), hashlib.sha256).hexdigest()[:32]
    description = f"{text} [managed by Workbench: {digest}]".lstrip()
    marked = _xml(class_name, credential_id, description, fields)
    return Credential(credential_id, description, marked)


def _decoded(data: dict[str, str]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in data.items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unusable(f"data key {key[:40]!r} is not base64 text") from None
    return decoded


def _fields(kind: str, data: dict[str, str]) -> list[tuple[str, str]]:
    """The credential's own elements, as (tag, text)."""

    def required(key: str) -> str:
        value = data.get(key, "")
        if not value:
            raise Unusable(f"data key {key!r} is missing")
        return value

    if kind == "USERNAME_PASSWORD":
        return [("username", required("username")), ("password", required("password"))]
    if kind == "SECRET_TEXT":
        return [("secret", required("secret"))]
    if kind == "SSH_KEY":
        return [
            ("username", required("username")),
            ("passphrase", data.get("passphrase", "")),
            ("privateKey", required("ssh-privatekey")),
        ]
    # KUBECONFIG: a secret file, as `withCredentials([file(...)])` binds it.
    content = base64.b64encode(required("kubeconfig").encode()).decode()
    return [("fileName", "kubeconfig"), ("secretBytes", content)]


def _plain(text: str) -> str:
    """A description as Jenkins will store it: line ends as an XML parser leaves them, and
    without the characters XML cannot carry."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _xml(
    class_name: str, credential_id: str, description: str, fields: list[tuple[str, str]]
) -> str:
    root = ET.Element(class_name)
    elements = [("scope", "GLOBAL"), ("id", credential_id), ("description", description)]
    for tag, text in [*elements, *fields]:
        parent = root
        if tag == "privateKey":  # inside its source, as Jenkins writes an SSH key
            parent = ET.SubElement(root, "privateKeySource", {"class": _DIRECT_ENTRY})
        ET.SubElement(parent, tag).text = text
    return ET.tostring(root, encoding="unicode")


class JenkinsCredentials:
    """The watch, key listing and reconcile of the `jenkins-credentials` controller."""

    name = "jenkins-credentials"

    def __init__(
        self,
        api_client: client.ApiClient,
        devops: DevopsClient,
        view: TenancyView,
        *,
        namespace: str,
        resync_seconds: float = 300.0,
    ) -> None:
        self._core = client.CoreV1Api(api_client)
        self._devops = devops
        self._view = view
        self._namespace = namespace
        self._resync_seconds = resync_seconds
        self._instances = InstanceClients(devops)
        self._reported: dict[str, str] = {}  # Secret name -> resourceVersion reported unusable
        self.cache = ObjectCache(on_event=self._observed)
        self.enqueue: Callable[[int], None] = lambda workspace_id: None
        self.writes = 0

    async def close(self) -> None:
        await self._instances.close()

    # The inputs.

    def list_watch(self) -> ListWatch:
        """A ListWatch over the credential Secrets, reporting to the cache."""
        return ListWatch(
            self._list_secrets,
            self.cache.handle,
            namespace=self._namespace,
            label_selector=SELECTOR,
        )

    async def _list_secrets(self, **query: Any) -> Any:
        # No ":rtype:" here: the watch then hands events over as plain dicts.
        return await self._core.list_namespaced_secret(**query)

    async def keys(self) -> set[int]:
        """Every workspace, and every workspace id a Secret still names."""
        await self._view.reload(max_age=self._resync_seconds / 2)
        named = {labelled_workspace(secret) for secret in self.cache}
        present = {(secret.get("metadata") or {}).get("name") for secret in self.cache}
        self._reported = {k: v for k, v in self._reported.items() if k in present}
        return self._view.workspace_ids() | {ws for ws in named if ws is not None}

    def _observed(self, secret: Obj) -> None:
        workspace_id = labelled_workspace(secret)
        if workspace_id is not None:
            self.enqueue(workspace_id)

    # The reconcile.

    async def reconcile(self, workspace_id: int) -> None:
        wanted, claimed = self._desired(workspace_id)
        call, devops = self._devops.call, self._devops
        try:
            ci = await call(devops.jenkins.GetWorkspaceCI, _ci_ref(workspace_id))
        except NotFound:
            return
        if not ci.jenkins:
            return

        folder = (str(workspace_id),)
        jenkins = await self._instances.client(ci.jenkins)
        try:
            actual = await jenkins.credential_descriptions(folder)
        except JenkinsNotFound:
            if not wanted:
                return
            await jenkins.ensure_folder(folder)
            self._wrote("created", "the folder", workspace_id, ci.jenkins)
            actual = {}

        refused: list[str] = []
        for credential in wanted:
            present = actual.get(credential.id)
            if present == credential.description:
                continue
            try:
                await self._put(jenkins, folder, credential, present, workspace_id, ci.jenkins)
            except JenkinsError as error:
                if isinstance(error, Unavailable):
                    raise
                # Only the status: Jenkins's text about a credential it refused might quote it.
                refused.append(f"{credential.id} ({error.status or type(error).__name__})")

        for credential_id, description in sorted(actual.items()):
            if credential_id not in claimed and ours(description):
                await jenkins.delete_credential(folder, credential_id, missing_ok=True)
                self._wrote("deleted", credential_id, workspace_id, ci.jenkins)

        if refused:
            raise Incomplete(f"Jenkins {ci.jenkins!r} refused: {'; '.join(refused)}")

    async def missing(self, workspace_id: int, jenkins: JenkinsClient) -> set[str]:
        """The ids of the workspace's credentials that the instance behind `jenkins` lacks or
        holds in another version: empty once its folder has them all (a move can wait for
        that before the old folder goes)."""
        wanted, _ = self._desired(workspace_id)
        try:
            actual = await jenkins.credential_descriptions((str(workspace_id),))
        except JenkinsNotFound:
            actual = {}
        return {c.id for c in wanted if actual.get(c.id) != c.description}

    def _desired(self, workspace_id: int) -> tuple[list[Credential], set[str]]:
        """The credentials the workspace's Secrets render, and every id its Secrets claim.
        Of two Secrets claiming one id (only a hand-made one can), the first by name wins
        and the other is reported: mirroring both would rewrite the credential every pass."""
        wanted: dict[str, Credential] = {}
        claimed: set[str] = set()
        by_name = sorted(self.cache, key=lambda secret: secret["metadata"].get("name", ""))
        for secret in by_name:
            metadata = secret["metadata"]
            labels = metadata.get("labels") or {}
            if labels.get(WORKSPACE_LABEL) != str(workspace_id) or metadata.get(
                "deletionTimestamp"
            ):
                continue

            credential_id = labels.get(CREDENTIAL_LABEL, "")
            try:
                if credential_id in claimed:
                    raise Unusable(f"another Secret already stands for credential {credential_id}")
                claimed.add(credential_id)
                credential = desired_credential(secret)
            except Unusable as problem:
                self._report(metadata, workspace_id, problem)
                continue
            wanted[credential.id] = credential
        return sorted(wanted.values(), key=lambda credential: credential.id), claimed

    async def _put(
        self,
        jenkins: JenkinsClient,
        folder: tuple[str, ...],
        credential: Credential,
        present: str | None,
        workspace_id: int,
        instance: str,
    ) -> None:
        if present is None:
            created = await jenkins.put_credential(folder, credential.id, credential.xml)
            self._wrote("created" if created else "updated", credential.id, workspace_id, instance)
            return

        if not ours(present):
            logger.warning(
                "%s: credential %s in folder %d of Jenkins %s was not made by Workbench; "
                "replaced by the workspace's credential of that name",
                self.name,
                credential.id,
                workspace_id,
                instance,
                extra={"provider": self.name, "workspace": workspace_id},
            )
        await jenkins.update_credential(folder, credential.id, credential.xml)
        self._wrote("updated", credential.id, workspace_id, instance)

    def _report(self, metadata: Obj, workspace_id: int, problem: Unusable) -> None:
        name, version = metadata.get("name", ""), metadata.get("resourceVersion", "")
        if self._reported.get(name) == version:
            return
        self._reported[name] = version
        logger.warning(
            "%s: Secret %s of workspace %d is not mirrored into Jenkins: %s",
            self.name,
            name,
            workspace_id,
            problem,
            extra={"provider": self.name, "workspace": workspace_id},
        )

    def _wrote(self, action: str, what: str, workspace_id: int, instance: str) -> None:
        self.writes += 1
        REPAIRS.labels(self.name, action).inc()
        logger.info(
            "%s: %s %s of workspace %d in Jenkins %s",
            self.name,
            action,
            what,
            workspace_id,
            instance,
            extra={"provider": self.name, "workspace": workspace_id},
        )


def _ci_ref(workspace_id: int) -> jenkins_pb2.WorkspaceCIRef:
    return jenkins_pb2.WorkspaceCIRef(workspace_id=workspace_id)
