"""Configuration as Code: the part of the YAML model Workbench relies on.

The configuration-as-code plugin maps YAML root elements to configurators. The stand-in
understands these, and keeps the whole document so `export` can hand it back:

- `jenkins`: `systemMessage`, `numExecutors`, `quietPeriod`, `crumbIssuer` (`standard` turns
  crumbs on; its absence leaves them as they are; `none` - a stand-in spelling - turns
  them off); other keys (security realm, clouds, ...) are accepted and kept, not emulated;
- `unclassified`: `location.url` (the root URL Jenkins reports), `location.adminAddress`, and
  `eventDispatcher.receiver` (the Generic Event plugin's receiver);
- `credentials.system.domainCredentials[].credentials[]`: `string`, `usernamePassword`,
  `file`, `basicSSHUserPrivateKey` entries, added to the system store;
- `security`, `tool`: accepted and kept.

Any other root element fails as the plugin fails ("No configurator for the following root
elements"). `check` answers `[]` or `[{line, message}]`. Secrets are exported in an encrypted
looking `{...}` form, as the plugin does, and such values are read back when applied.

Check and apply differ as in the plugin. Its check is a dry run of every configurator: it
resolves each element (an unknown root, an unknown credential kind fails) but never calls a
setter. Apply runs the configurators for real, one root element after another, and a setter
that refuses its value raises in the middle; nothing is undone, so the root elements and
attributes set before it stay in force and the rest of the document is not applied (the
plugin's `BulkChange` only skips the save). The stand-in has one such setter, the one of
core Jenkins: `jenkins.numExecutors` below 0 passes the check and fails the apply (and a
reload that reads it) with an `ApplyError`, answered 500 as Jenkins answers an exception.
(A document the check refuses is answered 400 by the stand-in's apply, 500 by the plugin's.)
The order here is `jenkins`, `unclassified`, `credentials`; within `jenkins`, the order of
the keys listed above.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.jenkins._xml import Credential, credential_from_fields

if TYPE_CHECKING:
    from sandbox.jenkins._jenkins import Jenkins

logger = logging.getLogger(__name__)

ROOTS = ("jenkins", "unclassified", "credentials", "security", "tool")
_CREDENTIAL_KINDS = {
    "string": "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl",
    "usernamePassword": "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
    "file": "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl",
    "basicSSHUserPrivateKey": (
        "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey"
    ),
}
_SECRET_KEYS = ("secret", "password", "secretBytes", "privateKey", "passphrase")
_ENCRYPTED_PREFIX = "{AQAAABAAAAAQ"


class CascError(ValueError):
    """A configuration the plugin would refuse; `line` when the YAML itself is broken."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class ApplyError(CascError):
    """A document that passed the check and failed while it was applied, partly in force."""


def parse(text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CascError(str(exc), mark.line + 1 if mark is not None else None) from exc
    if not isinstance(document, dict):
        raise CascError("The configuration must be a YAML mapping", 1)
    unknown = sorted(str(key) for key in document if key not in ROOTS)
    if unknown:
        raise CascError(f"No configurator for the following root elements: {', '.join(unknown)}")
    return document


def check(text: str) -> list[dict[str, Any]]:
    try:
        _dry_run(text)
    except CascError as exc:
        return [{"line": exc.line if exc.line is not None else -1, "message": exc.message}]
    return []


def _dry_run(text: str) -> dict[str, Any]:
    """The plugin's check: every element resolved, no setter called; the document."""
    document = parse(text)
    for entry in _credential_entries(document):
        _credential(entry)
    return document


def apply(jenkins: Jenkins, text: str) -> None:
    """Apply a YAML document to the running stand-in: checked first, as the plugin does,
    then set (an `ApplyError` leaves it partly applied, see the module docstring)."""
    document = _dry_run(text)
    settings = jenkins.settings

    core = document.get("jenkins") or {}
    if "systemMessage" in core:
        settings.system_message = str(core["systemMessage"])
    if "numExecutors" in core:
        settings.num_executors = _executors(core["numExecutors"])
    if "quietPeriod" in core:
        settings.quiet_period = float(core["quietPeriod"])
    issuer = core.get("crumbIssuer")
    if issuer is not None:
        settings.crumbs = issuer != "none"

    unclassified = document.get("unclassified") or {}
    location = unclassified.get("location") or {}
    if "url" in location:
        settings.location_url = str(location["url"]) or None
    if "adminAddress" in location:
        settings.admin_address = str(location["adminAddress"])
    dispatcher = unclassified.get("eventDispatcher")
    if dispatcher is not None:
        jenkins.events.receiver = str((dispatcher or {}).get("receiver") or "") or None
        jenkins.events.referrer = jenkins.root_url()

    for entry in _credential_entries(document):
        credential = _credential(entry)
        jenkins.root.credentials.domains["_"][credential.id] = credential

    jenkins.casc_yaml = text
    jenkins.on_change()
    logger.info("configuration as code applied (%d root elements)", len(document))


def _executors(value: Any) -> int:
    """Core Jenkins's `setNumExecutors`, which refuses a negative count."""
    count = int(value)
    if count < 0:
        raise ApplyError(
            'Failed to set attribute numExecutors: Incorrect field "# of executors": '
            f"{count}. It should be a non-negative number."
        )
    return count


def _credential_entries(document: dict[str, Any]) -> list[Any]:
    system = (document.get("credentials") or {}).get("system") or {}
    return [
        entry
        for domain in system.get("domainCredentials") or []
        for entry in (domain or {}).get("credentials") or []
    ]


def _credential(entry: dict[str, Any]) -> Credential:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise CascError(f"Invalid credential entry: {entry!r}")
    kind, values = next(iter(entry.items()))
    if kind not in _CREDENTIAL_KINDS:
        raise CascError(f"Unknown credential type {kind}")
    fields = {key: _decrypt(value) for key, value in dict(values or {}).items()}
    source = fields.pop("privateKeySource", None)
    if isinstance(source, dict):
        fields["privateKey"] = _decrypt((source.get("directEntry") or {}).get("privateKey", ""))
    fields.setdefault("scope", "GLOBAL")
    return credential_from_fields(_CREDENTIAL_KINDS[kind], fields)


def _encrypt(value: str) -> str:
    return _ENCRYPTED_PREFIX + base64.b64encode(value.encode("utf-8")).decode("ascii") + "}"


def _decrypt(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_ENCRYPTED_PREFIX) and value.endswith("}"):
        return base64.b64decode(value[len(_ENCRYPTED_PREFIX) : -1]).decode("utf-8")
    return value


def export(jenkins: Jenkins) -> str:
    """The current configuration as the plugin's export would write it."""
    settings = jenkins.settings
    kept = parse(jenkins.casc_yaml) if jenkins.casc_yaml else {}
    core = dict(kept.get("jenkins") or {})
    core.update(
        {
            "systemMessage": settings.system_message,
            "numExecutors": settings.num_executors,
            "quietPeriod": int(settings.quiet_period),
            "crumbIssuer": "standard" if settings.crumbs else "none",
        }
    )
    unclassified = dict(kept.get("unclassified") or {})
    unclassified["location"] = {
        "adminAddress": settings.admin_address,
        "url": settings.location_url or "",
    }
    unclassified["eventDispatcher"] = {"receiver": jenkins.events.receiver or ""}
    document: dict[str, Any] = {"jenkins": core, "unclassified": unclassified}
    credentials = [_export_credential(c) for c in jenkins.root.credentials.domains["_"].values()]
    if credentials:
        document["credentials"] = {"system": {"domainCredentials": [{"credentials": credentials}]}}
    for root in ("security", "tool"):
        if root in kept:
            document[root] = kept[root]
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True)


def _export_credential(credential: Credential) -> dict[str, Any]:
    kind = next((k for k, v in _CREDENTIAL_KINDS.items() if v == credential.class_name), "string")
    values: dict[str, Any] = {"id": credential.id, "scope": credential.scope}
    if credential.description:
        values["description"] = credential.description
    for key, value in credential.fields.items():
        if key == "privateKey":
            values["privateKeySource"] = {"directEntry": {"privateKey": _encrypt(value)}}
        else:
            values[key] = _encrypt(value) if key in _SECRET_KEYS else value
    return {kind: values}
