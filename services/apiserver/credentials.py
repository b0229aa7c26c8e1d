"""Workspace credentials, kept as Kubernetes Secrets in the control-plane cluster.

A credential (username and password, secret text, SSH key, kubeconfig) is one Secret in the
credentials namespace of the control-plane cluster (`WORKBENCH_CREDENTIALS_NAMESPACE`, by
default `workbench-system`; the syncer reads the same setting), created on first use. The Secret
is the only copy: apiserver keeps nothing, and the syncer later mirrors each Secret into the
workspace's Jenkins folder. What a Secret looks like:

- name `wb-credential-<workspaceId>-<name>`. Workspace ids are digits, so the first `-` after
  the prefix ends the id and two workspaces can never produce the same name;
- labels `workbench.io/workspace`, `workbench.io/credential` and
  `app.kubernetes.io/managed-by: workbench`; listing selects on the first and the last. The
  credential name is a label value, which is why it is limited to 63 characters and to the
  characters of a DNS subdomain;
- annotations for the type, the description and the time of the last change;
- the built-in Secret type where one fits, `Opaque` otherwise, and these data keys (what the
  syncer reads when it mirrors a credential into Jenkins):

      USERNAME_PASSWORD  kubernetes.io/basic-auth  username, password
      SSH_KEY            kubernetes.io/ssh-auth    username, ssh-privatekey, passphrase (if any)
      SECRET_TEXT        Opaque                    secret
      KUBECONFIG         Opaque                    kubeconfig

IMPORTANT: secret values go one way, into the cluster. Every read answers the base info and
the fields that are not secret (a username), and the secret fields of the answer are always
empty. No log line and no error message quotes a value: validation errors name the field and
the rule only, and the cluster's refusal of a Secret (422) is told in our own words, since
its text may quote the object.

An update replaces the description, but an empty value field keeps the stored value: a reader
never has the secret values to send back, and a username left out is kept the same way. So a
passphrase, once set, can only be changed, not removed. The type of a credential never
changes; delete and recreate it instead.

Each call builds its control-plane client from the kubeconfig file and closes it at the end
(`libs.kube.kubeconfig_file`): credentials change rarely, and apiserver's shutdown does not
know about this service's connections.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import yaml
from amamba.credential.v1alpha1 import credentials_pb2 as pb
from amamba.credential.v1alpha1 import credentials_pb2_grpc
from amamba.types import types_pb2
from google.protobuf import empty_pb2
from kubernetes_asyncio import client as k8s
from workbench_sdk.devops.v1 import tenancy_pb2 as sdk

from libs.common import names, paging
from libs.common.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from libs.kube import kubeconfig_file
from services.apiserver.pipelines.deps import UsesDeps

logger = logging.getLogger(__name__)

CLUSTER = "control-plane"
NAME_PREFIX = "wb-credential-"
WORKSPACE_LABEL = "workbench.io/workspace"
CREDENTIAL_LABEL = "workbench.io/credential"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "workbench"
TYPE_ANNOTATION = "workbench.io/credential-type"
DESCRIPTION_ANNOTATION = "workbench.io/description"
UPDATED_AT_ANNOTATION = "workbench.io/updated-at"

KUBE_TIMEOUT = 10
MAX_NAME = 63
MAX_DESCRIPTION = 1024
MAX_USERNAME = 253
# A Secret holds at most 1 MiB in all; one value may take a quarter of it.
MAX_VALUE_BYTES = 256 * 1024

EMPTY = empty_pb2.Empty()
Answer = TypeVar("Answer")
CredentialType: TypeAlias = pb.CredentialType.ValueType

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PEM_PRIVATE_KEY = re.compile(
    r"\A-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----\r?\n"
    r"(?:[A-Za-z0-9+/=:, -]*\r?\n)+"
    r"-----END \1-----\Z"
)


# --- the shape of each credential type ------------------------------------------------------


def _check_username(field: str, value: str) -> None:
    if len(value) > MAX_USERNAME:
        raise InvalidArgument(f"{field}: must be at most {MAX_USERNAME} characters")
    if _CONTROL.search(value) or value != value.strip():
        raise InvalidArgument(f"{field}: must not hold control characters or surrounding spaces")


def _check_size(field: str, value: str) -> None:
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise InvalidArgument(f"{field}: must be at most {MAX_VALUE_BYTES} bytes")


def _check_private_key(field: str, value: str) -> None:
    _check_size(field, value)
    if not _PEM_PRIVATE_KEY.match(value.strip()):
        raise InvalidArgument(
            f"{field}: must be one PEM private key block, "
            "from '-----BEGIN ... PRIVATE KEY-----' to its END line"
        )


def _check_kubeconfig(field: str, value: str) -> None:
    _check_size(field, value)
    try:
        document = yaml.safe_load(value)
    except yaml.YAMLError:
        # The parser's message quotes the content: it must not reach the caller.
        raise InvalidArgument(f"{field}: is not a YAML document") from None
    if not isinstance(document, dict) or not isinstance(document.get("clusters"), list):
        raise InvalidArgument(f"{field}: is not a kubeconfig (a YAML mapping with 'clusters')")


@dataclass(frozen=True)
class Field:
    """One value of a credential: where it sits in the messages and in the Secret."""

    key: str  # the Secret's data key
    attribute: str  # the attribute of the type's message
    json: str  # how the API spells the field, for error messages
    secret: bool
    required: bool
    check: Callable[[str, str], None]


@dataclass(frozen=True)
class Shape:
    """How one credential type travels: its message field and its kind of Secret."""

    attribute: str
    secret_type: str
    fields: tuple[Field, ...]


def _shape(attribute: str, json: str, secret_type: str, *fields: tuple[Any, ...]) -> Shape:
    return Shape(
        attribute,
        secret_type,
        tuple(Field(key, attr, f"{json}.{name}", *rest) for key, attr, name, *rest in fields),
    )


SHAPES: dict[CredentialType, Shape] = {
    pb.USERNAME_PASSWORD: _shape(
        "basic_credential",
        "basicCredential",
        "kubernetes.io/basic-auth",
        ("username", "username", "username", False, True, _check_username),
        ("password", "password", "password", True, True, _check_size),
    ),
    pb.SECRET_TEXT: _shape(
        "secret_text_credential",
        "secretTextCredential",
        "Opaque",
        ("secret", "secret", "secret", True, True, _check_size),
    ),
    pb.SSH_KEY: _shape(
        "ssh_credential",
        "sshCredential",
        "kubernetes.io/ssh-auth",
        ("username", "username", "username", False, True, _check_username),
        ("ssh-privatekey", "private_key", "privateKey", True, True, _check_private_key),
        ("passphrase", "passphrase", "passphrase", True, False, _check_size),
    ),
    pb.KUBECONFIG: _shape(
        "kubeconfig_credential",
        "kubeconfigCredential",
        "Opaque",
        ("kubeconfig", "content", "content", True, True, _check_kubeconfig),
    ),
}


def credential_name(field: str, value: str) -> str:
    """A credential name: a DNS subdomain short enough to be a label value."""
    if not value:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field}: must be at most {MAX_NAME} characters, got {len(value)}")
    if not _NAME.match(value):
        raise InvalidArgument(
            f"{field}: {value!r} is not valid: use lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return value


def secret_name(workspace_id: int, name: str) -> str:
    return f"{NAME_PREFIX}{workspace_id}-{name}"


def _given(shape: Shape, request: Any) -> dict[str, str]:
    """The values a create or update request carries for its type, by Secret data key."""
    part = getattr(request, shape.attribute)
    return {field.key: getattr(part, field.attribute) for field in shape.fields}


def _checked(shape: Shape, given: dict[str, str], stored: dict[str, str]) -> dict[str, str]:
    """The Secret's data: each given value checked, an empty one keeping the stored one."""
    data: dict[str, str] = {}
    for field in shape.fields:
        value = given[field.key]
        if value:
            field.check(field.json, value)
        else:
            value = stored.get(field.key, "")
        if field.required and not value:
            raise InvalidArgument(f"{field.json}: must not be empty")
        if value:
            data[field.key] = value
    return data


def _description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        raise InvalidArgument(f"description: must be at most {MAX_DESCRIPTION} characters")
    return value


def _encode(data: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}


def _decode(data: dict[str, str] | None) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            decoded[key] = base64.b64decode(value).decode()
        except (binascii.Error, UnicodeDecodeError):
            logger.warning("credential Secret data key %s is not base64 text; ignored", key)
    return decoded


def _millis_now() -> int:
    return int(time.time() * 1000)


# --- Secrets and answers --------------------------------------------------------------------


def _secret(
    workspace_id: int,
    name: str,
    credential_type: CredentialType,
    description: str,
    data: dict[str, str],
    *,
    namespace: str,
    resource_version: str | None = None,
) -> k8s.V1Secret:
    return k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(
            name=secret_name(workspace_id, name),
            namespace=namespace,
            resource_version=resource_version,
            labels={
                WORKSPACE_LABEL: str(workspace_id),
                CREDENTIAL_LABEL: name,
                MANAGED_BY_LABEL: MANAGED_BY,
            },
            annotations={
                TYPE_ANNOTATION: _type_name(credential_type),
                DESCRIPTION_ANNOTATION: description,
                UPDATED_AT_ANNOTATION: str(_millis_now()),
            },
        ),
        type=SHAPES[credential_type].secret_type,
        data=_encode(data),
    )


def _belongs_to(secret: k8s.V1Secret, workspace_id: int) -> bool:
    labels = secret.metadata.labels or {}
    return (
        labels.get(WORKSPACE_LABEL) == str(workspace_id)
        and labels.get(MANAGED_BY_LABEL) == MANAGED_BY
    )


def _type_of(secret: k8s.V1Secret) -> CredentialType:
    annotated = (secret.metadata.annotations or {}).get(TYPE_ANNOTATION, "")
    try:
        return pb.CredentialType.Value(annotated)
    except ValueError:
        return pb.CREDENTIAL_TYPE_UNSPECIFIED


def _answer(secret: k8s.V1Secret) -> pb.Credential:
    """The credential a Secret holds, with every secret field left empty."""
    metadata = secret.metadata
    annotations = metadata.annotations or {}
    credential_type = _type_of(secret)
    stamp = metadata.creation_timestamp
    created_at = int(stamp.timestamp() * 1000) if stamp else 0
    updated = annotations.get(UPDATED_AT_ANNOTATION, "")
    answer = pb.Credential(
        base_info=pb.CredentialBaseInfo(
            type=credential_type,
            name=(metadata.labels or {}).get(CREDENTIAL_LABEL, ""),
            description=annotations.get(DESCRIPTION_ANNOTATION, ""),
            created_at=created_at,
            updated_at=int(updated) if updated.isdigit() else created_at,
            workspace_id=(metadata.labels or {}).get(WORKSPACE_LABEL, ""),
        )
    )
    shape = SHAPES.get(credential_type)
    if shape is None:
        return answer

    part = getattr(answer, shape.attribute)
    part.SetInParent()
    data = _decode(secret.data)
    for field in shape.fields:
        if not field.secret:
            setattr(part, field.attribute, data.get(field.key, ""))
    return answer


_SORT_KEYS: dict[int, Callable[[pb.Credential], Any]] = {
    types_pb2.FIELD_NAME: lambda c: c.base_info.name,
    types_pb2.CREATED_AT: lambda c: (c.base_info.created_at, c.base_info.name),
}


def _sorted(items: list[pb.Credential], sort_by: int, sort_dir: int) -> list[pb.Credential]:
    """Name order unless the caller asks for another (`sortDir` alone changes nothing)."""
    if sort_by == types_pb2.SORT_BY_UNSPECIFIED:
        return sorted(items, key=lambda c: c.base_info.name)
    key = _SORT_KEYS.get(sort_by)
    if key is None:
        raise InvalidArgument("sortBy: credentials sort by FIELD_NAME or CREATED_AT")
    return sorted(items, key=key, reverse=sort_dir == types_pb2.DESC)


# --- the service ----------------------------------------------------------------------------


class CredentialsService(UsesDeps, credentials_pb2_grpc.CredentialsServicer):
    """CRUD of a workspace's credentials; authorisation happened in the interceptor."""

    @property
    def _namespace(self) -> str:
        """Where the Secrets are: `WORKBENCH_CREDENTIALS_NAMESPACE`."""
        return self.deps.settings.credentials_namespace

    async def _kube(self, work: Callable[[k8s.CoreV1Api], Awaitable[Answer]]) -> Answer:
        """Run `work` with a client of the control-plane cluster."""
        path = self.deps.settings.control_plane_kubeconfig
        if path is None:
            raise FailedPrecondition("no control-plane cluster is configured")

        async with kubeconfig_file.client_from_file(path, cluster=CLUSTER) as api:
            return await work(k8s.CoreV1Api(api))

    async def _read(self, core: k8s.CoreV1Api, workspace_id: int, name: str) -> k8s.V1Secret:
        missing = NotFound(f"credential {name!r} does not exist in workspace {workspace_id}")
        try:
            found: k8s.V1Secret = await kubeconfig_file.call(
                CLUSTER,
                lambda: core.read_namespaced_secret(
                    secret_name(workspace_id, name),
                    self._namespace,
                    _request_timeout=KUBE_TIMEOUT,
                ),
            )
        except NotFound:
            raise missing from None
        if not _belongs_to(found, workspace_id):
            raise missing
        return found

    async def ListCredential(
        self, request: pb.ListCredentialRequest, context: Any
    ) -> pb.ListCredentialsResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        paging.window(request.page, request.page_size)
        selector = f"{WORKSPACE_LABEL}={workspace_id},{MANAGED_BY_LABEL}={MANAGED_BY}"

        async def work(core: k8s.CoreV1Api) -> list[k8s.V1Secret]:
            listed = await kubeconfig_file.call(
                CLUSTER,
                lambda: core.list_namespaced_secret(
                    self._namespace, label_selector=selector, _request_timeout=KUBE_TIMEOUT
                ),
            )
            return list(listed.items)

        # `includeGlobal` changes nothing: Workbench has no credentials outside workspaces.
        wanted = request.name.lower()
        items = [
            credential
            for credential in (_answer(secret) for secret in await self._kube(work))
            if wanted in credential.base_info.name
        ]
        shown, described = paging.paginate(
            _sorted(items, request.sort_by, request.sort_dir), request.page, request.page_size
        )
        return pb.ListCredentialsResponse(
            items=shown,
            pagination=types_pb2.Page(
                page=described.page,
                page_size=described.page_size,
                total=described.total,
                pages=described.pages,
            ),
        )

    async def GetCredential(self, request: pb.GetCredentialRequest, context: Any) -> pb.Credential:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = credential_name("credentialName", request.credential_name)

        async def work(core: k8s.CoreV1Api) -> k8s.V1Secret:
            return await self._read(core, workspace_id, name)

        return _answer(await self._kube(work))

    async def CreateCredential(
        self, request: pb.CreateCredentialRequest, context: Any
    ) -> pb.Credential:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = credential_name("credentialName", request.credential_name)
        shape = SHAPES.get(request.type)
        if shape is None:
            raise InvalidArgument(f"type: must be one of {', '.join(_type_names())}")
        body = _secret(
            workspace_id,
            name,
            request.type,
            _description(request.description),
            _checked(shape, _given(shape, request), {}),
            namespace=self._namespace,
        )
        await self.devops.call(self.devops.tenancy.GetWorkspace, sdk.WorkspaceRef(id=workspace_id))

        async def work(core: k8s.CoreV1Api) -> k8s.V1Secret:
            create = lambda: core.create_namespaced_secret(  # noqa: E731
                self._namespace, body, _request_timeout=KUBE_TIMEOUT
            )
            try:
                return await _write(create)
            except NotFound:
                # The namespace is made on first use, and again if someone removed it.
                await _ensure_namespace(core, self._namespace)
                return await _write(create)

        try:
            created = await self._kube(work)
        except AlreadyExists:
            raise AlreadyExists(
                f"credential {name!r} already exists in workspace {workspace_id}"
            ) from None
        logger.info(
            "credential %s of workspace %s created (%s)",
            name,
            workspace_id,
            _type_name(request.type),
        )
        return _answer(created)

    async def UpdateCredential(
        self, request: pb.UpdateCredentialRequest, context: Any
    ) -> pb.Credential:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = credential_name("credentialName", request.credential_name)
        description = _description(request.description)

        async def work(core: k8s.CoreV1Api) -> k8s.V1Secret:
            stored = await self._read(core, workspace_id, name)
            credential_type = _type_of(stored)
            shape = SHAPES.get(credential_type)
            if shape is None:
                raise FailedPrecondition(f"credential {name!r} has no known type; recreate it")
            if request.type not in (pb.CREDENTIAL_TYPE_UNSPECIFIED, credential_type):
                raise InvalidArgument(
                    f"type: credential {name!r} is {_type_name(credential_type)}; a type "
                    "cannot change, delete and recreate the credential instead"
                )
            data = _checked(shape, _given(shape, request), _decode(stored.data))
            body = _secret(
                workspace_id,
                name,
                credential_type,
                description,
                data,
                namespace=self._namespace,
                resource_version=stored.metadata.resource_version,
            )
            return await _write(
                lambda: core.replace_namespaced_secret(
                    body.metadata.name, self._namespace, body, _request_timeout=KUBE_TIMEOUT
                )
            )

        try:
            updated = await self._kube(work)
        except Conflict:
            raise Conflict(
                f"credential {name!r} changed while it was being updated; try again"
            ) from None
        logger.info("credential %s of workspace %s updated", name, workspace_id)
        return _answer(updated)

    async def DeleteCredential(
        self, request: pb.DeleteCredentialRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = credential_name("credentialName", request.credential_name)

        async def work(core: k8s.CoreV1Api) -> None:
            stored = await self._read(core, workspace_id, name)
            # The uid precondition keeps a Secret made again meanwhile from going too.
            options = k8s.V1DeleteOptions(
                preconditions=k8s.V1Preconditions(uid=stored.metadata.uid)
            )
            try:
                await _write(
                    lambda: core.delete_namespaced_secret(
                        stored.metadata.name,
                        self._namespace,
                        body=options,
                        _request_timeout=KUBE_TIMEOUT,
                    )
                )
            except NotFound:
                logger.info("credential %s of workspace %s was already gone", name, workspace_id)

        await self._kube(work)
        logger.info("credential %s of workspace %s deleted", name, workspace_id)
        return EMPTY


def _type_name(credential_type: CredentialType) -> str:
    return pb.CredentialType.Name(credential_type)


def _type_names() -> Iterable[str]:
    return (_type_name(t) for t in SHAPES)


async def _write(operation: Callable[[], Awaitable[Answer]]) -> Answer:
    """A write to the control plane; a refusal of the Secret is told in our words."""
    try:
        return await kubeconfig_file.call(CLUSTER, operation)
    except InvalidArgument as error:
        # The cluster's text may quote the object; the caller gets ours.
        logger.warning("the control-plane cluster refused a credential Secret")
        raise InvalidArgument(
            "the control-plane cluster refused the credential's Secret; check its size"
        ) from error


async def _ensure_namespace(core: k8s.CoreV1Api, namespace: str) -> None:
    body = k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace))
    try:
        await kubeconfig_file.call(
            CLUSTER, lambda: core.create_namespace(body, _request_timeout=KUBE_TIMEOUT)
        )
        logger.info("namespace %s created in the control-plane cluster", namespace)
    except AlreadyExists:
        pass
