"""Each Jenkins instance's Configuration as Code: Workbench's settings, kept in a ConfigMap
beside the instance and in force in Jenkins.

What Workbench sets on every registered instance, rendered as one YAML document by PyYAML
(keys sorted, so the same settings always give the same text):

- `unclassified.location.url`: the root URL, the instance's registered address;
- `unclassified.eventDispatcher.receiver`: where the Generic Event plugin posts, the
  event-proxy beside the instance (the registration's `eventProxyUrl`, by default
  `http://127.0.0.1:9095/event`: an event-proxy in the same pod, on its default port);
- the registration's own `casc` (its Kubernetes agent templates under `jenkins.clouds`, say),
  merged underneath: where both set a key, Workbench's value wins.

Where it is kept. An instance that names its namespace (and, optionally, its member cluster)
gets the ConfigMap `jenkins-casc-config` there, the one the Jenkins chart mounts; one that
names no namespace gets `jenkins-casc-config-<instance>` in `workbench-system` of the
control-plane cluster, so two of them never share one. The document is the key
`workbench.yaml`: Jenkins reads every YAML file of the mounted directory
(`CASC_JENKINS_CONFIG=/var/jenkins_home/casc_configs/`, `CASC_MERGE_STRATEGY=override`), so an
installer's `jenkins.yaml` in the same ConfigMap stays the installer's. The syncer owns that
one key, its two labels (`workbench.io/jenkins-instance`, `app.kubernetes.io/managed-by`) and
three annotations, and the last-good ConfigMap beside it (below); it never deletes either,
not even once the instance is unregistered (its Jenkins may still mount the first).

The `jenkins-casc` controller is keyed by instance name. Its keys are the registered
instances (the resync), a registration changed or removed (devops-server's change stream,
kind `jenkins`), and its ConfigMaps: one `ListWatch` per namespace that holds one, started the
first time an instance is placed there, whose events queue the instance its label names. So
a ConfigMap edited or deleted by hand is repaired at once, and a watch that ends or expires
lists again (see `libs.controller.watch`). A member cluster changed (kind `cluster`: removed,
or registered again with other credentials or at another server) has its watches stopped
and its client closed, and the instances placed there are queued: their next reconcile
reads its kubeconfig again and watches through the new client.

A reconcile of instance `a`, told nothing about why it runs:

1. The registration (`ListJenkins`); gone, nothing to do. The desired document and its
   digest (SHA-256, 16 hex digits).
2. At rest, the ConfigMap holds the document and its annotation `workbench.io/casc-applied`
   carries its digest: Jenkins applied it. Then only Jenkins's export is read, to see that
   the root URL and the receiver are still in force; if not (a Jenkins restarted from other
   sources, an edit in its UI), the document is loaded again (step 4). No write at all, once
   the last-good copy (below) holds the document.
3. Otherwise the document is checked (`configuration-as-code/check`). A rejection is reported
   (below) and nothing else happens: the ConfigMap keeps the last good document and Jenkins
   keeps running it. A document that passes is written into the ConfigMap (a create, or a
   merge patch of the key carrying the `resourceVersion` it compared against, so an edit
   made meanwhile answers 409 and the key is retried against the newer state).
4. Loading: `configuration-as-code/reload`, which makes Jenkins read its sources again, the
   mounted ConfigMap among them, then `configuration-as-code/apply` of the document. The
   kubelet refreshes a mounted ConfigMap a minute or so after it changed, so right after a
   write the reload may still read the old file (and the sandbox Jenkins mounts none at
   all); the apply takes effect now, and its answer is the only one that says whether the
   document itself applies (the export shows two settings, the reload reads other files).
5. The document is copied into the last-good ConfigMap, its digest recorded in
   `workbench.io/casc-applied`, and a rejection note removed.

A rejected configuration is reported three ways, once per document: a warning in the log
naming the instance and Jenkins's first problem, the gauge
`workbench_syncer_casc_rejected{instance}` at 1, and the annotation
`workbench.io/casc-rejected: "<digest>: <problem>"` on the ConfigMap (created without the
key when there is none yet). Jenkins rejects a document in one of two ways:

- Its check finds problems (a root element no installed plugin configures, an attribute it
  does not know). The key does not fail: the document cannot pass until the registration
  changes, which queues the instance again; it is checked again at every pass.
- It passes the check and fails the apply. The plugin's check is a dry run that calls no
  setter, so a value only a setter refuses (a negative executor count) gets through; the
  apply then configures root element after root element and stops at the refusal, undoing
  nothing, so Jenkins runs part of the document. That is rolled back at once: the last good
  document goes back into the ConfigMap (so neither a reload nor a restarted Jenkins reads
  the broken one), is reloaded and applied over the half-applied state, and the annotation
  `workbench.io/casc-rolled-back: <digest>` names the document that failed. The key holds
  the last good document from then on and never tries that digest again (applying it would
  break Jenkins again at every pass) until the registration changes, or someone removes the
  annotation to have it tried once more. An instance whose very first document fails has
  nothing to go back to: the key is removed from the ConfigMap and Jenkins reloads its other
  sources, but what the failed apply had set stays until a document sets it again. (CasC
  never resets what a document leaves out, so the last good document undoes exactly what it
  sets itself.)

Where the last good document is kept: in a second ConfigMap beside the first, named after it
with the suffix `.last-good` (`jenkins-casc-config.last-good`), same labels, key
`workbench.yaml`. Jenkins must never read it, and the plugin reads every `.yml`/`.yaml` file
of the mounted directory, so a second key of the mounted ConfigMap would be loaded as a
source (one named otherwise would rely on that file pattern, and share the 1 MiB of the
ConfigMap with the installer's files). An annotation on the mounted ConfigMap would not be
read by Jenkins, but all annotations of an object share 256 KiB (kubectl's
`last-applied-configuration` may already hold a copy of the whole ConfigMap there), and an
agent-template-heavy document would not fit. No chart mounts the second ConfigMap, it has
1 MiB of its own, the one ConfigMap watch of the namespace sees it (its events queue the
instance, so a copy deleted by hand is written again at once), and the dot cannot occur in an
instance name (a DNS label), so no other instance's ConfigMap can be called that. The two are
not written atomically, hence the order: the copy is written after Jenkins applied a
document and before that is recorded, and before a document Jenkins applied is overwritten
by a new one; a syncer stopping between two writes leaves a state the next reconcile goes on
from.

Only the root URL and the receiver are compared against Jenkins's export: the plugin's export
writes defaults and normalised values of its own for everything else (agent templates
especially), so comparing those would see drift forever and write at every pass. A setting
of the registration's own `casc` changed in Jenkins's UI is therefore not repaired until the
document changes.

Jenkins unreachable, a ConfigMap write refused, a namespace not listed yet, a ConfigMap that
another instance registered in the same namespace already owns (its label names it): the key
fails and is retried with its backoff, logged each time; other instances go on. Writes count in
`workbench_syncer_repairs_total{provider="jenkins-casc"}`: `created` and `updated` for the
ConfigMap, `applied` for a document loaded into Jenkins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import yaml
from amamba.pipeline.v1alpha1 import jenkins_instances_pb2 as jenkins_api
from google.protobuf import empty_pb2
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import Gauge
from workbench_sdk.devops.v1 import tenancy_pb2

from libs.common.errors import Unavailable
from libs.controller import ListWatch
from libs.devops_client import DevopsClient
from libs.jenkins import JenkinsClient, JenkinsError
from libs.kube.clusters import ClusterClients
from libs.kube.objects import MERGE_PATCH, RAW, ObjectCache, owned_patch, raw_json
from services.syncer.instances import InstanceClients
from services.syncer.provider import MANAGED_BY, REPAIRS

__all__ = ["JenkinsCasc", "Placement", "Unrenderable", "desired_document", "placement", "render"]

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

CONFIG_MAP = "jenkins-casc-config"
KEY = "workbench.yaml"
DEFAULT_NAMESPACE = "workbench-system"
DEFAULT_RECEIVER = "http://127.0.0.1:9095/event"
INSTANCE_LABEL = "workbench.io/jenkins-instance"
APPLIED = "workbench.io/casc-applied"
REJECTED = "workbench.io/casc-rejected"
ROLLED_BACK = "workbench.io/casc-rolled-back"
LAST_GOOD = ".last-good"  # suffix of the ConfigMap keeping the last document Jenkins applied
SELECTOR = f"{INSTANCE_LABEL},{MANAGED_BY[0]}={MANAGED_BY[1]}"
# The settings compared against Jenkins's export (see the module docstring).
COMPARED = (("unclassified", "location", "url"), ("unclassified", "eventDispatcher", "receiver"))

REJECTED_GAUGE = Gauge(
    "workbench_syncer_casc_rejected",
    "1 while an instance refuses the Configuration as Code rendered for it (the last good one "
    "stays in force), else 0.",
    ["instance"],
)


class Shared(Exception):
    """Two instances were registered in one namespace; the key fails until one moves."""


class Unrenderable(Exception):
    """The registration's own `casc` is not a YAML mapping; reported like a rejection."""


@dataclass(frozen=True)
class Placement:
    """Where an instance's ConfigMap is: cluster ("" for the control plane), namespace, name."""

    cluster: str
    namespace: str
    name: str

    @property
    def last_good(self) -> Placement:
        """The ConfigMap beside it that keeps the last document Jenkins applied."""
        return Placement(self.cluster, self.namespace, self.name + LAST_GOOD)


def placement(instance: jenkins_api.JenkinsInstance) -> Placement:
    if instance.namespace:
        return Placement(instance.cluster, instance.namespace, CONFIG_MAP)
    return Placement("", DEFAULT_NAMESPACE, f"{CONFIG_MAP}-{instance.name}")


def desired_document(instance: jenkins_api.JenkinsInstance) -> Obj:
    """The registration's own configuration with Workbench's settings over it."""
    try:
        own = yaml.safe_load(instance.casc) if instance.casc else {}
    except yaml.YAMLError:
        raise Unrenderable("the registration's casc is not valid YAML") from None
    if not isinstance(own, dict):
        raise Unrenderable("the registration's casc is not a YAML mapping")

    ours = {
        "unclassified": {
            "location": {"url": instance.address.rstrip("/") + "/"},
            "eventDispatcher": {"receiver": instance.event_proxy_url or DEFAULT_RECEIVER},
        }
    }
    return _merged(own, ours)


def render(document: Obj) -> str:
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True, default_flow_style=False)


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _merged(base: Obj, over: Obj) -> Obj:
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = _merged(below, value)
        else:
            merged[key] = value
    return merged


def _setting(document: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(document, dict):
            return None
        document = document.get(step)
    return document


def in_force(exported: str, document: Obj) -> bool:
    """Whether Jenkins's export shows the root URL and the receiver of `document`."""
    try:
        running = yaml.safe_load(exported)
    except yaml.YAMLError:
        return False
    return all(_setting(running, path) == _setting(document, path) for path in COMPARED)


def _annotation(obj: Obj | None, name: str) -> str | None:
    value = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(name)
    return str(value) if value is not None else None


def _first_problem(problems: list[dict[str, Any]]) -> str:
    first = problems[0] if problems else {}
    line = first.get("line", -1)
    text = f"line {line}: " if isinstance(line, int) and line > 0 else ""
    text += str(first.get("message") or "refused")[:300]
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more)"
    return text


class _Watched:
    """The ConfigMaps Workbench labelled in one namespace of one cluster, listed and watched."""

    def __init__(self, core: client.CoreV1Api, namespace: str, on_event: Callable[[Obj], None]):
        self.core = core
        self.namespace = namespace
        self.cache = ObjectCache(on_event=on_event)
        self.lister = ListWatch(
            self._list, self.cache.handle, namespace=namespace, label_selector=SELECTOR
        )
        self.task: asyncio.Task[None] | None = None

    async def _list(self, **query: Any) -> Any:
        # No ":rtype:" here: the watch then hands events over as plain dicts.
        return await self.core.list_namespaced_config_map(**query)


class JenkinsCasc:
    """The ConfigMap watches, key listing and reconcile of the `jenkins-casc` controller."""

    name = "jenkins-casc"

    def __init__(
        self,
        api_client: client.ApiClient,
        devops: DevopsClient,
        *,
        retry_seconds: float = 2.0,
        list_seconds: float = 10.0,
    ) -> None:
        self._control_plane = api_client
        self._devops = devops
        self._retry_seconds = retry_seconds
        self._list_seconds = list_seconds
        self._instances = InstanceClients(devops)
        self._clusters = ClusterClients(self._kubeconfig)
        self._watched: dict[tuple[str, str], _Watched] = {}
        self._placed: dict[str, str] = {}  # instance -> member cluster of its ConfigMap
        self._cluster_changes: dict[str, int] = {}  # how often each cluster was dropped
        self._reported: dict[str, str] = {}  # instance -> digest last reported as rejected
        self.enqueue: Callable[[str], None] = lambda instance: None
        self.writes = 0

    async def close(self) -> None:
        tasks = [w.task for w in self._watched.values() if w.task is not None]
        self._watched.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._instances.close()
        await self._clusters.close()

    # The inputs.

    async def keys(self) -> set[str]:
        """Every registered instance."""
        listed = await self._devops.call(self._devops.jenkins.ListJenkins, empty_pb2.Empty())
        return {instance.name for instance in listed.items}

    def changed(self, instances: set[str]) -> None:
        """Registrations changed or removed (devops-server's change stream)."""
        for instance in instances:
            self.enqueue(instance)

    async def clusters_changed(self, clusters: set[str]) -> None:
        """Member clusters registered again or removed (devops-server's change stream): their
        ConfigMap watches stop and their clients close, and the instances placed there are
        queued, so they reconcile with the cluster's new credentials (or fail without)."""
        for cluster in clusters:
            dropped = [self._watched.pop(key) for key in list(self._watched) if key[0] == cluster]
            tasks = [watched.task for watched in dropped if watched.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._clusters.forget(cluster)
            self._cluster_changes[cluster] = self._cluster_changes.get(cluster, 0) + 1
            logger.info(
                "%s: member cluster %s changed; its client is made again", self.name, cluster
            )

        for instance, cluster in list(self._placed.items()):
            if cluster in clusters:
                self.enqueue(instance)

    def configmap(self, where: Placement) -> Obj | None:
        """The ConfigMap at `where` as last listed or watched (None if not watched yet)."""
        watched = self._watched.get((where.cluster, where.namespace))
        return watched.cache.get(where.name, where.namespace) if watched is not None else None

    def _observed(self, obj: Obj) -> None:
        instance = ((obj.get("metadata") or {}).get("labels") or {}).get(INSTANCE_LABEL)
        if instance:
            self.enqueue(instance)

    async def _kubeconfig(self, cluster: str) -> str:
        ref = tenancy_pb2.ClusterRef(name=cluster)
        access = await self._devops.call(self._devops.tenancy.GetClusterAccess, ref)
        return str(access.kubeconfig)

    async def _watch(self, where: Placement) -> _Watched:
        """The watched ConfigMaps of `where`'s namespace, once listed; the watch starts on the
        first call for that namespace and runs until `close`."""
        key = (where.cluster, where.namespace)
        api = self._control_plane
        while where.cluster and key not in self._watched:
            changes = self._cluster_changes.get(where.cluster, 0)
            api = await self._clusters.api(where.cluster)
            if self._cluster_changes.get(where.cluster, 0) == changes:
                break  # else the cluster changed meanwhile, and `api` may be its old client
        # IMPORTANT: no await between this look-up and the registration below, or two
        # reconciles could each start a watch of the namespace and one would never stop.
        watched = self._watched.get(key)
        if watched is None:
            watched = _Watched(client.CoreV1Api(api), where.namespace, self._observed)
            watched.task = asyncio.create_task(
                self._follow(where, watched), name=f"{self.name}-watch-{where.namespace}"
            )
            self._watched[key] = watched

        if watched.lister.synced.is_set():
            return watched
        try:
            # IMPORTANT: not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation
            # that meets an event already set, and the worker then outlives its controller.
            async with asyncio.timeout(self._list_seconds):
                await watched.lister.synced.wait()
        except TimeoutError:
            place = f"{where.cluster or 'the control plane'}/{where.namespace}"
            raise Unavailable(f"the ConfigMaps of {place} are not listed yet") from None
        return watched

    async def _follow(self, where: Placement, watched: _Watched) -> None:
        """Run the watch until cancelled; it raises on an API error other than 410 (the
        namespace missing, the cluster refusing): run it again after a pause."""
        while True:
            try:
                await watched.lister.run()
            except ApiException as error:
                logger.warning(
                    "%s: cannot list or watch ConfigMaps in %s/%s (%s %s); retrying",
                    self.name,
                    where.cluster or "control-plane",
                    where.namespace,
                    error.status,
                    error.reason,
                )
            await asyncio.sleep(self._retry_seconds)

    # The reconcile.

    async def reconcile(self, name: str) -> None:
        listed = await self._devops.call(self._devops.jenkins.ListJenkins, empty_pb2.Empty())
        instance = next((found for found in listed.items if found.name == name), None)
        if instance is None:
            with contextlib.suppress(KeyError):
                REJECTED_GAUGE.remove(name)
            self._reported.pop(name, None)
            self._placed.pop(name, None)
            return

        where = placement(instance)
        self._placed[name] = where.cluster
        watched = await self._watch(where)
        actual = watched.cache.get(where.name, where.namespace)
        owner = ((actual or {}).get("metadata") or {}).get("labels", {}).get(INSTANCE_LABEL)
        if owner not in (None, name):
            raise Shared(
                f"ConfigMap {where.namespace}/{where.name} is Jenkins {owner!r}'s; register "
                f"{name!r} with a namespace of its own"
            )
        try:
            document = desired_document(instance)
        except Unrenderable as problem:
            await self._rejected(watched, where, name, "-", str(problem), actual)
            return
        text = render(document)
        digest = digest_of(text)
        jenkins = await self._instances.client(name)

        stored = ((actual or {}).get("data") or {}).get(KEY)
        if stored == text and _annotation(actual, APPLIED) == digest:
            await self._keep(watched, where, name, text)
            await self._hold(jenkins, name, text)
            await self._settled(watched, where, name, digest, actual)
            return

        if _annotation(actual, ROLLED_BACK) == digest:
            await self._rolled_back(watched, where, name, jenkins, digest, actual)
            return

        problems = await jenkins.casc_check(text)
        if problems:
            await self._rejected(watched, where, name, digest, _first_problem(problems), actual)
            return

        if stored is not None and _annotation(actual, APPLIED) == digest_of(stored):
            await self._keep(watched, where, name, stored)  # kept before it is overwritten
        actual = await self._put(watched, where, name, {"data": {KEY: text}}, actual)
        try:
            await self._load(jenkins, name, text)
        except JenkinsError as error:
            if isinstance(error, Unavailable):
                raise
            # Passed the check, failed to apply, perhaps half applied: roll back (docstring).
            actual = await self._put_back(watched, where, name, digest, actual)
            await self._rejected(watched, where, name, digest, f"apply failed: {error}", actual)
            if KEY not in (actual.get("data") or {}):
                # Nothing to go back to: Jenkins reads its other sources again, once.
                with contextlib.suppress(JenkinsError):
                    await jenkins.casc_reload()
            await self._rolled_back(watched, where, name, jenkins, digest, actual)
            return
        await self._keep(watched, where, name, text)
        await self._settled(watched, where, name, digest, actual)

    async def _hold(self, jenkins: JenkinsClient, name: str, text: str) -> None:
        """Load `text` again if Jenkins's export shows it is no longer in force."""
        if in_force(await jenkins.casc_export(), yaml.safe_load(text)):
            return
        logger.warning(
            "%s: Jenkins %s does not run its configuration any more; loading it again",
            self.name,
            name,
            extra={"provider": self.name, "instance": name},
        )
        await self._load(jenkins, name, text)

    async def _keep(self, watched: _Watched, where: Placement, name: str, text: str) -> None:
        """Copy `text`, applied by Jenkins, into the last-good ConfigMap (if not there yet)."""
        kept = where.last_good
        actual = watched.cache.get(kept.name, kept.namespace)
        owned = {"data": {KEY: text}, "metadata": {"annotations": {APPLIED: digest_of(text)}}}
        await self._put(watched, kept, name, owned, actual)

    async def _put_back(
        self, watched: _Watched, where: Placement, name: str, digest: str, actual: Obj
    ) -> Obj:
        """Put the last good document back into the ConfigMap (or, with none, take the key
        out) after the document `digest` failed to apply; the ConfigMap after."""
        kept = watched.cache.get(where.last_good.name, where.namespace)
        good = ((kept or {}).get("data") or {}).get(KEY)
        # APPLIED is cleared until the good document is in force again: a failure on the way
        # leaves the key to `_rolled_back`, which loads it.
        marks = {ROLLED_BACK: digest, APPLIED: None}
        return await self._put(
            watched, where, name, {"data": {KEY: good}, "metadata": {"annotations": marks}}, actual
        )

    async def _rolled_back(
        self,
        watched: _Watched,
        where: Placement,
        name: str,
        jenkins: JenkinsClient,
        digest: str,
        actual: Obj | None,
    ) -> None:
        """Keep the document put back after `digest` failed to apply in force, and the
        rejection reported, until the registration changes."""
        note = _annotation(actual, REJECTED) or ""
        problem = note.partition(": ")[2] if note.startswith(f"{digest}: ") else "apply failed"
        actual = await self._rejected(watched, where, name, digest, problem, actual)

        good = ((actual or {}).get("data") or {}).get(KEY)
        if good is None:
            return  # nothing was ever applied (see the module docstring)
        if _annotation(actual, APPLIED) == digest_of(good):
            await self._hold(jenkins, name, good)
            return
        await self._load(jenkins, name, good)
        noted = {"metadata": {"annotations": {APPLIED: digest_of(good)}}}
        await self._put(watched, where, name, noted, actual)

    async def _settled(
        self, watched: _Watched, where: Placement, name: str, digest: str, actual: Obj | None
    ) -> None:
        """Record that Jenkins runs the document `digest` (a write only if not recorded yet)."""
        noted = {"metadata": {"annotations": {APPLIED: digest, REJECTED: None, ROLLED_BACK: None}}}
        await self._put(watched, where, name, noted, actual)
        REJECTED_GAUGE.labels(name).set(0)
        self._reported.pop(name, None)

    async def _load(self, jenkins: JenkinsClient, name: str, text: str) -> None:
        """Have Jenkins read its sources again, then apply the document: only apply's
        answer says that the document itself applies."""
        try:
            await jenkins.casc_reload()
        except JenkinsError as error:
            if isinstance(error, Unavailable):
                raise
            # A source may be broken (ours, if the kubelet already refreshed the mount):
            # the apply below tells.
            logger.warning(
                "%s: Jenkins %s could not reload its configuration (%s); applying ours",
                self.name,
                name,
                error.status or type(error).__name__,
            )
        await jenkins.casc_apply(text)
        self._wrote("applied", "the configuration", name)

    async def _rejected(
        self,
        watched: _Watched,
        where: Placement,
        name: str,
        digest: str,
        problem: str,
        actual: Obj | None,
    ) -> Obj:
        """Report a document Jenkins refuses (the ConfigMap after); the ConfigMap's key and
        Jenkins stay as they are."""
        REJECTED_GAUGE.labels(name).set(1)
        if self._reported.get(name) != digest:
            self._reported[name] = digest
            logger.warning(
                "%s: Jenkins %s rejects the configuration rendered for it (%s); the last good "
                "one stays in force",
                self.name,
                name,
                problem,
                extra={"provider": self.name, "instance": name},
            )
        note = {"metadata": {"annotations": {REJECTED: f"{digest}: {problem}"}}}
        return await self._put(watched, where, name, note, actual)

    async def _put(
        self, watched: _Watched, where: Placement, name: str, owned: Obj, actual: Obj | None
    ) -> Obj:
        """Make the `owned` fields (and the labels) of the ConfigMap so; the ConfigMap after."""
        owned = _merged(owned, {"metadata": {"labels": _labels(name)}})
        core, cache = watched.core, watched.cache
        if actual is None:
            metadata = {"name": where.name, **owned["metadata"]}
            body = _without_none(
                {**owned, "apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
            )
            try:
                created = await raw_json(
                    core.create_namespaced_config_map(where.namespace, cast(Any, body), **RAW)
                )
            except ApiException as error:
                if error.status != 409:  # someone else's ConfigMap of that name: converge it
                    raise
                actual = await raw_json(
                    core.read_namespaced_config_map(where.name, where.namespace, **RAW)
                )
            else:
                cache.remember(created)
                self._wrote("created", f"ConfigMap {where.namespace}/{where.name}", name)
                return created

        patch = owned_patch(actual, owned)
        if not patch:
            return actual
        patch.setdefault("metadata", {})["resourceVersion"] = actual["metadata"]["resourceVersion"]
        try:
            updated = await raw_json(
                core.patch_namespaced_config_map(
                    where.name, where.namespace, patch, **MERGE_PATCH, **RAW
                )
            )
        except ApiException as error:
            # The cache was behind: changed (409) or gone (404) since it saw the ConfigMap.
            if error.status == 409:
                cache.remember(
                    await raw_json(
                        core.read_namespaced_config_map(where.name, where.namespace, **RAW)
                    )
                )
            elif error.status == 404:
                cache.forget(where.name, where.namespace)
            raise
        cache.remember(updated)
        self._wrote("updated", f"ConfigMap {where.namespace}/{where.name}", name)
        return updated

    def _wrote(self, action: str, what: str, name: str) -> None:
        self.writes += 1
        REPAIRS.labels(self.name, action).inc()
        logger.info(
            "%s: %s %s for Jenkins %s",
            self.name,
            action,
            what,
            name,
            extra={"provider": self.name, "instance": name},
        )


def _labels(name: str) -> dict[str, str]:
    return {INSTANCE_LABEL: name, MANAGED_BY[0]: MANAGED_BY[1]}


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value
