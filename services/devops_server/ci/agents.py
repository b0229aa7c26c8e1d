"""Jenkins's Kubernetes agents, read from its Configuration as Code.

The Kubernetes plugin keeps its pod templates under `jenkins.clouds[].kubernetes.templates`:
each has a name, a label that pipelines ask for (`agent { label 'go' }`), a namespace,
containers (name, image, command and arguments as strings) and volumes written in the
plugin's own words (`hostPathVolume`, `emptyDirVolume`, ...). The answer shows each template
as the API's `AgentInfo`: a Kubernetes pod made of those containers, and each volume paired
with where it is mounted.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml
from amamba.pipeline.v1alpha1 import management_pb2 as api
from google.protobuf import json_format

from libs.common.errors import FailedPrecondition

# The plugin's volume kinds -> (Kubernetes volume field, how its source is written).
_VOLUMES: dict[str, tuple[str, Any]] = {
    "hostPathVolume": ("hostPath", lambda v: {"path": v.get("hostPath", "")}),
    "emptyDirVolume": ("emptyDir", lambda v: {"medium": "Memory"} if v.get("memory") else {}),
    "persistentVolumeClaim": (
        "persistentVolumeClaim",
        lambda v: {"claimName": v.get("claimName", ""), "readOnly": bool(v.get("readOnly"))},
    ),
    "configMapVolume": ("configMap", lambda v: {"name": v.get("configMapName", "")}),
    "secretVolume": ("secret", lambda v: {"secretName": v.get("secretName", "")}),
}


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.strip():
        return shlex.split(value)
    return []


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": str(spec.get("name", "")),
        "image": str(spec.get("image", "")),
    }
    command, args = _words(spec.get("command")), _words(spec.get("args"))
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    variables = [e.get("envVar") for e in spec.get("envVars") or [] if isinstance(e, dict)]
    env = [
        {"name": str(v.get("key", "")), "value": str(v.get("value", ""))}
        for v in variables
        if isinstance(v, dict)
    ]
    if env:
        container["env"] = env
    if spec.get("workingDir"):
        container["workingDir"] = str(spec["workingDir"])
    return container


def _volume_pairs(template: dict[str, Any]) -> list[api.VolumeMountPair]:
    pairs = []
    for index, entry in enumerate(template.get("volumes") or []):
        if not isinstance(entry, dict):
            continue
        for kind, settings in entry.items():
            known = _VOLUMES.get(kind)
            if known is None or not isinstance(settings, dict):
                continue
            field, source = known
            name = f"volume-{index}"
            volume = {"name": name, field: source(settings)}
            mount = {"name": name, "mountPath": str(settings.get("mountPath", ""))}
            # `volume_json` is Kubernetes's own shape; the message nests the source, as the
            # API's Volume does.
            pair = api.VolumeMountPair(volume_json=json.dumps(volume))
            nested = {"name": name, "volumeSource": {field: volume[field]}}
            json_format.ParseDict(nested, pair.volume, ignore_unknown_fields=True)
            json_format.ParseDict(mount, pair.volume_mount, ignore_unknown_fields=True)
            pairs.append(pair)
    return pairs


def agents(casc_yaml: str) -> list[api.AgentInfo]:
    """The pod templates of every Kubernetes cloud in a CasC export."""
    try:
        document = yaml.safe_load(casc_yaml) or {}
    except yaml.YAMLError:
        raise FailedPrecondition("Jenkins's configuration export is not valid YAML") from None
    clouds = (
        ((document.get("jenkins") or {}).get("clouds") or []) if isinstance(document, dict) else []
    )

    found = []
    for cloud in clouds:
        kubernetes = cloud.get("kubernetes") if isinstance(cloud, dict) else None
        if not isinstance(kubernetes, dict):
            continue
        for template in kubernetes.get("templates") or []:
            if not isinstance(template, dict):
                continue
            label = str(template.get("label") or template.get("name") or "")
            namespace = str(template.get("namespace") or kubernetes.get("namespace") or "")
            metadata: dict[str, Any] = {"labels": {"jenkins/label": label}}
            if namespace:
                metadata["namespace"] = namespace
            pod = {
                "metadata": metadata,
                "spec": {
                    "containers": [
                        _container(c)
                        for c in template.get("containers") or []
                        if isinstance(c, dict)
                    ]
                },
            }
            info = api.AgentInfo(
                name=str(template.get("name", "")),
                label=label,
                namespace=namespace,
                volume_mount_pairs=_volume_pairs(template),
            )
            info.pod_template.pod_json = json.dumps(pod)
            json_format.ParseDict(pod, info.pod_template.pod, ignore_unknown_fields=True)
            found.append(info)
    return found
