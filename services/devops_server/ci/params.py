"""A run's parameter values, checked against the pipeline's definition.

The definition is the `parameters` list of the pipeline's spec (`ParameterDefinition`s in
proto JSON). Rules, each refusal an InvalidArgument naming the parameter:

- a name the definition does not have is refused, and so is a name given twice;
- BOOLEAN takes `true` or `false` (any case);
- CHOICE takes one of its choices, which are the definition's `defaultValue` split on new
  lines (Jenkins's own convention for choice parameters; the first choice is the default);
  OPTIONS_MULTIPLE_CHOICE takes a comma-separated subset of them;
- STASHED_FILE cannot be given through `:run` (there is no upload): it is refused;
- every other type takes any text up to `MAX_VALUE` characters without NUL characters;
- a parameter left out takes its default; a password's stored default is sealed
  (`definition.seal_passwords`), so it is opened here and the run holds it sealed again, as
  it holds a value given in clear: Jenkins gets the clear default, and logs mask it.

A replay gives the old run's values again (`again`), checked against the pipeline's
definition as it is now by the same rules: a parameter since removed, or a value the
definition no longer takes, refuses the replay naming the parameter; one added since takes
its default. A password stays a password: an old password value is never handed to a
parameter that is no longer one, where answers would show it.

Password values never go back out: the stored run keeps them sealed (`sealed`, the
SecretBox ciphertext in base64) beside an empty `value`, and only the dispatcher opens them to
hand them to Jenkins.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from libs.common.errors import InvalidArgument
from services.devops_server.ci.definition import open_default
from services.devops_server.crypto import SecretBox

MAX_VALUE = 65536
PASSWORD = "PARAMETER_TYPE_PASSWORD"
_UNSET = "PARAMETER_TYPE_UNSPECIFIED"


@dataclass(frozen=True)
class Given:
    name: str
    value: str


def choices(definition: dict[str, Any]) -> list[str]:
    text = str(definition.get("defaultValue", ""))
    return [line.strip() for line in text.splitlines() if line.strip()]


def default_of(definition: dict[str, Any]) -> str:
    kind = definition.get("type", _UNSET)
    if kind == "PARAMETER_TYPE_CHOICE":
        options = choices(definition)
        return options[0] if options else ""
    if kind == "PARAMETER_TYPE_OPTIONS_MULTIPLE_CHOICE":
        return ""
    if kind == "PARAMETER_TYPE_BOOLEAN":
        return "true" if str(definition.get("defaultValue", "")).lower() == "true" else "false"
    return str(definition.get("defaultValue", ""))


def _check(definition: dict[str, Any], value: str) -> str:
    name = definition["name"]
    field = f"parameters[{name}]"
    kind = definition.get("type", _UNSET)
    if len(value) > MAX_VALUE:
        raise InvalidArgument(f"{field}: must be at most {MAX_VALUE} characters")
    if "\x00" in value:
        raise InvalidArgument(f"{field}: must not contain NUL characters")
    if kind == "PARAMETER_TYPE_BOOLEAN":
        if value.lower() not in ("true", "false"):
            raise InvalidArgument(f"{field}: a boolean parameter takes true or false")
        return value.lower()
    if kind == "PARAMETER_TYPE_CHOICE":
        options = choices(definition)
        if value not in options:
            raise InvalidArgument(f"{field}: {value[:40]!r} is not one of {', '.join(options)}")
    if kind == "PARAMETER_TYPE_OPTIONS_MULTIPLE_CHOICE":
        options = choices(definition)
        picked = [v.strip() for v in value.split(",") if v.strip()]
        wrong = [v for v in picked if v not in options]
        if wrong:
            raise InvalidArgument(f"{field}: {wrong[0][:40]!r} is not one of {', '.join(options)}")
        return ",".join(picked)
    if kind == "PARAMETER_TYPE_STASHED_FILE":
        raise InvalidArgument(f"{field}: file parameters cannot be given when starting a run")
    return value


def resolve(
    definitions: Sequence[dict[str, Any]], given: Iterable[Given], box: SecretBox
) -> list[dict[str, Any]]:
    """The run's parameters as stored: one entry per definition, in the definition's order."""
    by_name = {str(d.get("name", "")): d for d in definitions}
    values: dict[str, str] = {}
    for item in given:
        if item.name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise InvalidArgument(
                f"parameters[{item.name[:60]}]: the pipeline has no such parameter "
                f"(it has: {known})"
            )
        if item.name in values:
            raise InvalidArgument(f"parameters[{item.name}]: given more than once")
        values[item.name] = _check(by_name[item.name], item.value)

    stored = []
    for definition in definitions:
        name = str(definition.get("name", ""))
        kind = definition.get("type", _UNSET)
        value = values.get(name, default_of(definition))
        if kind == PASSWORD and name not in values:
            value = open_default(value, box)
        entry: dict[str, Any] = {
            "name": name,
            "type": kind,
            "description": str(definition.get("description", "")),
            "defaultValue": "" if kind == PASSWORD else default_of(definition),
            "value": value,
        }
        if kind == PASSWORD:
            entry["value"] = ""
            entry["sealed"] = base64.b64encode(box.seal(value)).decode()
        stored.append(entry)
    return stored


def again(
    definitions: Sequence[dict[str, Any]], previous: Sequence[dict[str, Any]], box: SecretBox
) -> list[dict[str, Any]]:
    """A replayed run's parameters: `previous` (a stored run's) checked against `definitions`."""
    kinds = {str(d.get("name", "")): d.get("type", _UNSET) for d in definitions}
    given = []

    for p in previous:
        name = str(p["name"])
        if "sealed" in p:
            if name in kinds and kinds[name] != PASSWORD:
                raise InvalidArgument(f"parameters[{name}]: is no longer a password parameter")
            given.append(Given(name, box.open(base64.b64decode(p["sealed"]))))
        else:
            given.append(Given(name, str(p.get("value", ""))))
    return resolve(definitions, given, box)


def for_jenkins(stored: Sequence[dict[str, Any]], box: SecretBox) -> dict[str, str]:
    """The values to send to Jenkins, passwords opened."""
    return {
        p["name"]: box.open(base64.b64decode(p["sealed"])) if "sealed" in p else str(p["value"])
        for p in stored
    }


def secrets(stored: Sequence[dict[str, Any]], box: SecretBox) -> list[str]:
    """The clear values of a run's password parameters (to mask them in logs)."""
    opened = (box.open(base64.b64decode(p["sealed"])) for p in stored if "sealed" in p)
    return [value for value in opened if value]


def public(stored: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parameters as answers show them: never a sealed value."""
    return [{k: v for k, v in p.items() if k != "sealed"} for p in stored]
