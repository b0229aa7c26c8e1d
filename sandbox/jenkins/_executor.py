"""Runs a declarative pipeline, given as the JSON model of pipeline-model-definition.

`PipelineExecution` walks `{"pipeline": {...}}` the way Declarative does: the top-level
`agent` opens a `node` block, `environment` a `withEnv`, then each stage runs in order. Before
anything runs, every declared stage gets its flow node (so Blue Ocean can show future stages);
a stage is skipped (NOT_EXECUTED) when `when` says no or when an earlier stage failed, its
parallel branches run concurrently (`failFast` interrupts the siblings, which end ABORTED
while the failure stays the result of the stage and the build), its `post` runs on the stage's
own status, a `matrix` runs as a parallel of its cells (`matrix_cells`), and the pipeline's
`post` runs in the synthetic stage "Declarative: Post Actions" on the build's status. Stages,
steps and the run end with the statuses Jenkins gives them: FAILURE for a failing step,
UNSTABLE from `unstable` or failing tests, ABORTED for a stop, an aborted input or a timeout.

The log is written as Jenkins writes it (`[Pipeline] stage`, `[Pipeline] { (Build)`, ...), and
the first error is repeated after `[Pipeline] End of Pipeline`, as `ERROR: <message>`. What each
atom step does lives in `_steps.py`; block steps (`withCredentials`, `withEnv`, `timeout`,
`retry`, `catchError`, `dir`, and wrappers such as `node`, `container`, `timestamps`) are here
because they shape how their children run. `script { }` blocks hold Groovy and are not run.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections.abc import Callable
from typing import Any

from sandbox.jenkins._context import FLOW_INTERRUPTED, Context, Interrupted, StepFailed
from sandbox.jenkins._model import RESULT_ORDER, FlowNode, Run, worse
from sandbox.jenkins._steps import STEPS, describe, seconds, time_span
from sandbox.jenkins._values import (
    Scope,
    evaluate,
    evaluate_condition,
    parse_calls,
    string_list,
    stringify,
)
from sandbox.jenkins._xml import Credential

logger = logging.getLogger(__name__)

POST_ORDER = (
    "always",
    "changed",
    "fixed",
    "regression",
    "aborted",
    "failure",
    "success",
    "unstable",
    "unsuccessful",
    "notBuilt",
    "cleanup",
)
WRAPPERS = {
    "node",
    "container",
    "ws",
    "timestamps",
    "ansiColor",
    "wrap",
    "lock",
    "stage",
    "withMaven",
    "sshagent",
    "configFileProvider",
    "warnError",
}
CredentialFinder = Callable[[str], Credential | None]


def arguments(step: dict[str, Any], scope: Scope, positional: str) -> dict[str, Any]:
    """A step's arguments by name; a single unnamed argument gets the step's positional key."""
    raw = step.get("arguments")
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {positional: evaluate(raw, scope)}
    return {(a.get("key") or positional): evaluate(a.get("value"), scope) for a in raw}


def raw_argument(step: dict[str, Any]) -> str:
    """The unevaluated source of a step's first argument (for binding lists and such)."""
    raw = step.get("arguments")
    if isinstance(raw, list) and raw:
        raw = raw[0].get("value")
    if isinstance(raw, dict):
        return stringify(raw.get("value", ""))
    return ""


class PipelineExecution:
    """One run of one pipeline model."""

    def __init__(
        self,
        run: Run,
        model: dict[str, Any],
        ctx: Context,
        find_credential: CredentialFinder,
        *,
        previous_result: str | None = None,
        checkout_url: str | None = None,
    ) -> None:
        self.run = run
        self.pipeline: dict[str, Any] = model.get("pipeline", {})
        self.ctx = ctx
        self.find_credential = find_credential
        self.previous_result = previous_result
        self.checkout_url = checkout_url
        self.specs: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self.aborted_logged = False

    # Planning.

    def plan(self) -> None:
        """Create a flow node for every declared stage, in declaration order."""
        if self.checkout_url is not None:
            node = self._new_node("Declarative: Checkout SCM", "stage", None)
            node.synthetic = True
        self.run.graph = self._plan(self.pipeline.get("stages", []), None, branch=False)

    def _plan(self, stages: list[dict[str, Any]], parent: str | None, *, branch: bool) -> list[str]:
        ids = []
        for spec in stages:
            node = self._new_node(
                str(spec.get("name", "")), "branch" if branch else "stage", parent
            )
            self.specs[node.id] = spec
            if "parallel" in spec:
                node.parallel = True
                node.children = self._plan(spec["parallel"], node.id, branch=True)
            elif "matrix" in spec:
                node.parallel = True
                node.children = self._plan(matrix_cells(spec["matrix"]), node.id, branch=True)
            elif "stages" in spec:
                node.children = self._plan(spec["stages"], node.id, branch=False)
            ids.append(node.id)
        return ids

    def _new_node(self, name: str, kind: str, parent: str | None) -> FlowNode:
        node = FlowNode(id=self.run.new_node_id(), kind=kind, name=name, parent=parent)
        self.run.nodes[node.id] = node
        return node

    def _now(self) -> int:
        return self.ctx.clock.now_ms()

    # The pipeline.

    async def execute(self) -> None:
        ctx = self.ctx
        ctx.pipeline("Start of Pipeline")
        agent = self.pipeline.get("agent") or {"type": "none"}
        on_node = agent.get("type") != "none"
        if on_node:
            ctx.pipeline("node")
            ctx.line(f"Running on Jenkins in {ctx.env.get('WORKSPACE', '')}", to_step=False)
            ctx.pipeline("{")

        try:
            if self.checkout_url is not None:
                await self._checkout_stage()
            if self.pipeline.get("environment"):
                await self._with_environment(self.pipeline["environment"], self._stages)
            else:
                await self._stages()
        except StepFailed as exc:
            self._record_failure(None, exc)
        except Interrupted as exc:
            self._record_abort(ctx, None, exc)

        await self._post(ctx, self.pipeline.get("post"), self.run.result, synthetic=True)
        if on_node:
            ctx.pipeline("}")
            ctx.pipeline("// node")
        ctx.pipeline("End of Pipeline")
        for message in self.errors[:1]:
            ctx.line(f"ERROR: {message}", to_step=False)

    async def _stages(self) -> None:
        for node_id in self.run.graph:
            await self._stage(self.ctx, self.run.nodes[node_id], sequential=True)

    async def _checkout_stage(self) -> None:
        node = next(n for n in self.run.nodes.values() if n.name == "Declarative: Checkout SCM")
        await self._open_stage(self.ctx, node)
        previous, self.ctx.stage = self.ctx.stage, node
        try:
            await self._atom(self.ctx, {"name": "checkout", "arguments": []})
        except StepFailed as exc:
            self._record_failure(node, exc)
        finally:
            self.ctx.stage = previous
            self._close_stage(self.ctx, node)

    async def _with_environment(self, entries: list[dict[str, Any]], body: Any) -> None:
        ctx = self.ctx
        saved_env, saved_masks = dict(ctx.env), list(ctx.masks)
        ctx.pipeline("withEnv")
        ctx.pipeline("{")
        try:
            self._apply_environment(ctx, entries)
            await body()
        finally:
            ctx.env, ctx.masks = saved_env, saved_masks
            ctx.pipeline("}")
            ctx.pipeline("// withEnv")

    def _apply_environment(self, ctx: Context, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            key = str(entry.get("key"))
            value = entry.get("value", {})
            credential_id = _credentials_call(value)
            if credential_id is not None:
                self._bind_environment_credential(ctx, key, credential_id)
                continue
            ctx.env[key] = stringify(evaluate(value, ctx.scope))

    def _bind_environment_credential(self, ctx: Context, key: str, credential_id: str) -> None:
        credential = self.find_credential(credential_id)
        if credential is None:
            raise StepFailed(f"No Credentials with id '{credential_id}' found")
        fields = credential.fields
        if "username" in fields and "password" in fields:
            ctx.env[key] = f"{fields['username']}:{fields['password']}"
            ctx.env[f"{key}_USR"] = fields["username"]
            ctx.env[f"{key}_PSW"] = fields["password"]
        else:
            ctx.env[key] = fields.get("secret") or fields.get("fileName", "")
        ctx.masks.extend([*credential.secrets(), ctx.env[key]])

    # Stages.

    async def _open_stage(self, ctx: Context, node: FlowNode) -> None:
        ctx.pipeline("stage")
        ctx.pipeline(f"{{ ({node.name})")
        node.state = "running"
        node.start_ms = self._now()

    def _close_stage(self, ctx: Context, node: FlowNode) -> None:
        if node.state != "skipped":
            node.state = "finished"
            node.result = node.result or "SUCCESS"
        node.end_ms = self._now()
        ctx.pipeline("}")
        ctx.pipeline("// stage")

    def _skip(self, ctx: Context, node: FlowNode, reason: str) -> None:
        ctx.line(f'Stage "{node.name}" skipped due to {reason}', to_step=False)
        for child in [node, *(self.run.nodes[c] for c in self._descendants(node))]:
            child.state = "skipped"
            child.result = "NOT_BUILT"
            child.start_ms = child.start_ms or self._now()
            child.end_ms = self._now()

    def _descendants(self, node: FlowNode) -> list[str]:
        found = []
        for child_id in node.children:
            found.append(child_id)
            found.extend(self._descendants(self.run.nodes[child_id]))
        return found

    async def _stage(self, ctx: Context, node: FlowNode, *, sequential: bool) -> None:
        spec = self.specs[node.id]
        await self._open_stage(ctx, node)
        previous = ctx.stage
        ctx.stage = node
        saved_env, saved_masks = dict(ctx.env), list(ctx.masks)
        ctx.env.update(spec.get("cell", {}))
        try:
            failed = RESULT_ORDER.get(self.run.result or "SUCCESS", 0) >= RESULT_ORDER["FAILURE"]
            if sequential and failed:
                self._skip(ctx, node, "earlier failure(s)")
            elif not self._when(ctx, spec.get("when")):
                self._skip(ctx, node, "when conditional")
            else:
                await self._stage_body(ctx, node, spec)
        finally:
            ctx.env, ctx.masks = saved_env, saved_masks
            ctx.stage = previous
            self._close_stage(ctx, node)

    async def _stage_body(self, ctx: Context, node: FlowNode, spec: dict[str, Any]) -> None:
        try:
            if spec.get("environment"):
                self._apply_environment(ctx, spec["environment"])
            if spec.get("input"):
                await self._atom(ctx, {"name": "input", "arguments": self._input_args(spec)})
            if node.parallel:
                await self._parallel(ctx, node, spec)
            elif "stages" in spec:
                for child_id in node.children:
                    await self._stage(ctx, self.run.nodes[child_id], sequential=True)
                self._roll_up(node)
            else:
                for branch in spec.get("branches", []):
                    await self._steps(ctx, branch.get("steps", []))
        except StepFailed as exc:
            self._record_failure(node, exc)
        except Interrupted as exc:
            self._record_abort(ctx, node, exc)

        await self._post(ctx, spec.get("post"), node.result, synthetic=False)

    def _input_args(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"key": key, "value": value} for key, value in spec["input"].items()]

    def _roll_up(self, node: FlowNode) -> None:
        """A group stage's result: the worst of the children that ran."""
        for child_id in node.children:
            child = self.run.nodes[child_id]
            if child.state != "skipped":
                node.result = worse(node.result, child.result)

    def _record_failure(self, node: FlowNode | None, exc: StepFailed) -> None:
        self.errors.append(exc.message)
        if node is not None:
            node.result = worse(node.result, "FAILURE")
            node.error = node.error or {"message": exc.message, "type": exc.type}
        self.run.result = worse(self.run.result, "FAILURE")

    def _record_abort(self, ctx: Context, node: FlowNode | None, exc: Interrupted) -> None:
        ctx.interrupt.clear()
        if node is not None:
            node.result = worse(node.result, exc.result)
            node.error = node.error or {"message": "", "type": FLOW_INTERRUPTED}
        if exc.fail_fast:
            # The sibling's failure is the build's result; "Failed in branch" is logged.
            return
        if not self.aborted_logged:
            ctx.line(exc.reason, to_step=False)
            self.aborted_logged = True
        self.run.result = worse(self.run.result, exc.result)

    async def _parallel(self, ctx: Context, node: FlowNode, spec: dict[str, Any]) -> None:
        ctx.pipeline("parallel")
        branches = [self.run.nodes[c] for c in node.children]
        contexts = [ctx.branch(node) for _ in branches]
        for branch in branches:
            ctx.pipeline(f"{{ (Branch: {branch.name})")

        async def run_branch(branch_ctx: Context, branch: FlowNode) -> None:
            try:
                await self._stage(branch_ctx, branch, sequential=False)
            finally:
                branch_ctx.close()
            if spec.get("failFast") and branch.result == "FAILURE" and not failed:
                failed.append(branch)
                ctx.line(f"Failed in branch {branch.name}", to_step=False)
                for other in contexts:
                    if other is not branch_ctx:
                        other.fail_fast(branch.name)

        failed: list[FlowNode] = []
        await asyncio.gather(*(run_branch(c, b) for c, b in zip(contexts, branches, strict=True)))
        for _ in branches:
            ctx.pipeline("}")
        ctx.pipeline("// parallel")
        # A fail-fast parallel fails with the first failure, as the step rethrows it: the
        # branches it stopped are ABORTED, but that is not the parallel stage's result.
        for branch_ctx, branch in zip(contexts, branches, strict=True):
            if branch.state != "skipped" and branch_ctx.failed_branch is None:
                node.result = worse(node.result, branch.result)
        if failed:
            node.result = worse(node.result, "FAILURE")
        ctx.check_interrupt()

    def _when(self, ctx: Context, when: dict[str, Any] | None) -> bool:
        if not when:
            return True
        return all(self._condition(ctx, c) for c in when.get("conditions", []))

    def _condition(self, ctx: Context, condition: dict[str, Any]) -> bool:
        name = condition.get("name")
        children = condition.get("children", [])
        if name == "not":
            return not all(self._condition(ctx, c) for c in children)
        if name == "allOf":
            return all(self._condition(ctx, c) for c in children)
        if name == "anyOf":
            return any(self._condition(ctx, c) for c in children)
        args = arguments(condition, ctx.scope, "pattern")
        if name == "expression":
            raw = condition.get("arguments")
            source = raw_argument(condition) if raw else "true"
            return evaluate_condition(source, ctx.scope)
        if name == "branch":
            return _glob(str(args.get("pattern", "")), ctx.env.get("BRANCH_NAME", ""))
        if name == "environment":
            return ctx.env.get(str(args.get("name"))) == stringify(args.get("value"))
        if name == "equals":
            return stringify(args.get("expected")) == stringify(args.get("actual"))
        if name == "triggeredBy":
            wanted = str(args.get("pattern") or args.get("cause", ""))
            return any(wanted in str(c.get("_class", "")) for c in self.run.causes)
        return False

    # Steps.

    async def _steps(self, ctx: Context, steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if step.get("name") in STEPS and "children" not in step:
                await self._atom(ctx, step)
            else:
                await self._block(ctx, step)

    async def _atom(self, ctx: Context, step: dict[str, Any]) -> None:
        name = str(step.get("name"))
        kind = STEPS[name]
        node = FlowNode(
            id=self.run.new_node_id(),
            kind="step",
            name=name,
            parent=ctx.stage.id if ctx.stage is not None else None,
            display_name=kind.display_name,
            state="running",
            start_ms=self._now(),
        )
        self.run.nodes[node.id] = node
        ctx.pipeline(name)
        previous, ctx.step = ctx.step, node
        try:
            ctx.check_interrupt()
            args = arguments(step, ctx.scope, kind.positional)
            node.description = describe(name, args)
            await kind.run(ctx, args)
            node.result = worse(node.result, "SUCCESS")
        except StepFailed as exc:
            node.result = "FAILURE"
            node.error = {"message": exc.message, "type": exc.type}
            raise
        except (Interrupted, asyncio.CancelledError):
            node.result = "ABORTED"
            node.error = {"message": "", "type": FLOW_INTERRUPTED}
            raise
        finally:
            node.state = "finished"
            node.end_ms = self._now()
            ctx.step = previous

    async def _block(self, ctx: Context, step: dict[str, Any]) -> None:
        name = str(step.get("name"))
        children = step.get("children", [])
        if name not in WRAPPERS and name not in _BLOCKS:
            ctx.pipeline(name)
            raise StepFailed(
                f"No such DSL method '{name}' found among steps {sorted(STEPS)}",
                "java.lang.NoSuchMethodError",
            )

        ctx.pipeline(name)
        saved = (dict(ctx.env), list(ctx.masks), ctx.directory)
        try:
            if name == "script":
                ctx.pipeline("{")
                logger.debug("script block not run by the stand-in")
                return
            opener = _BLOCKS.get(name)
            if opener is not None:
                opener(self, ctx, step)
            ctx.pipeline("{")
            await self._block_body(ctx, name, step, children)
        finally:
            ctx.env, ctx.masks, ctx.directory = saved
            ctx.pipeline("}")
            ctx.pipeline(f"// {name}")

    async def _block_body(
        self, ctx: Context, name: str, step: dict[str, Any], children: list[dict[str, Any]]
    ) -> None:
        args = arguments(step, ctx.scope, {"timeout": "time", "retry": "count"}.get(name, "value"))
        if name == "timeout":
            limit = seconds(args.get("time", 0), args.get("unit") or "MINUTES")
            try:
                real = ctx.clock.real_seconds(limit)
                async with asyncio.timeout(real):
                    await self._steps(ctx, children)
            except TimeoutError:
                ctx.line(f"Timeout has been exceeded ({time_span(limit)})", to_step=False)
                raise Interrupted("Timeout has been exceeded") from None
        elif name == "retry":
            await self._retry(ctx, int(args.get("count", 1)), children)
        elif name == "catchError":
            await self._catch_error(ctx, args, children)
        else:
            await self._steps(ctx, children)

    async def _retry(self, ctx: Context, count: int, children: list[dict[str, Any]]) -> None:
        for attempt in range(1, max(count, 1) + 1):
            try:
                await self._steps(ctx, children)
                return
            except StepFailed as exc:
                ctx.line(f"ERROR: {exc.message}", to_step=False)
                if attempt >= count:
                    raise
                ctx.line("Retrying", to_step=False)

    async def _catch_error(
        self, ctx: Context, args: dict[str, Any], children: list[dict[str, Any]]
    ) -> None:
        try:
            await self._steps(ctx, children)
        except StepFailed as exc:
            ctx.line(f"ERROR: {args.get('message') or exc.message}", to_step=False)
            build_result = str(args.get("buildResult") or "FAILURE")
            stage_result = str(args.get("stageResult") or "SUCCESS")
            self.run.result = worse(self.run.result, build_result)
            if ctx.stage is not None and stage_result != "SUCCESS":
                ctx.stage.result = worse(ctx.stage.result, stage_result)

    def _bind_credentials(self, ctx: Context, step: dict[str, Any]) -> None:
        variables = []
        for kind, binding in parse_calls(raw_argument(step)):
            credential = self.find_credential(binding.get("credentialsId", ""))
            if credential is None:
                raise StepFailed(
                    f"Could not find credentials entry with ID '{binding.get('credentialsId')}'",
                    "org.jenkinsci.plugins.credentialsbinding.impl.CredentialNotFoundException",
                )
            fields = credential.fields
            values: dict[str, str] = {}
            if kind == "usernamePassword":
                values[binding.get("usernameVariable", "")] = fields.get("username", "")
                values[binding.get("passwordVariable", "")] = fields.get("password", "")
            elif kind == "usernameColonPassword":
                values[binding.get("variable", "")] = (
                    f"{fields.get('username', '')}:{fields.get('password', '')}"
                )
            elif kind == "sshUserPrivateKey":
                values[binding.get("keyFileVariable", "")] = "/tmp/secret-key"
                if binding.get("usernameVariable"):
                    values[binding["usernameVariable"]] = fields.get("username", "")
            else:
                values[binding.get("variable", "")] = fields.get("secret") or fields.get(
                    "fileName", ""
                )
            for variable, value in values.items():
                if variable:
                    ctx.env[variable] = value
                    variables.append(variable)
            ctx.masks.extend(credential.secrets())
        if variables:
            names = " or ".join(f"${v}" for v in variables)
            ctx.line(f"Masking supported pattern matches of {names}", to_step=False)

    def _with_env(self, ctx: Context, step: dict[str, Any]) -> None:
        for pair in string_list(raw_argument(step)):
            key, _, value = pair.partition("=")
            ctx.env[key] = ctx.scope.interpolate(value)

    def _dir(self, ctx: Context, step: dict[str, Any]) -> None:
        path = stringify(arguments(step, ctx.scope, "path").get("path", "")).strip("/")
        ctx.directory = f"{ctx.directory}{path}/" if path else ctx.directory

    # Post conditions.

    async def _post(
        self, ctx: Context, post: dict[str, Any] | None, result: str | None, *, synthetic: bool
    ) -> None:
        if not post:
            return
        status = result or "SUCCESS"
        branches = {c.get("condition"): c.get("branch", {}) for c in post.get("conditions", [])}
        chosen = [c for c in POST_ORDER if c in branches and self._post_matches(c, status)]
        if not chosen:
            return

        node = None
        if synthetic:
            node = self._new_node("Declarative: Post Actions", "stage", None)
            node.synthetic = True
            await self._open_stage(ctx, node)
        previous = ctx.stage
        ctx.stage = node or ctx.stage
        try:
            for condition in chosen:
                try:
                    await self._steps(ctx, branches[condition].get("steps", []))
                except StepFailed as exc:
                    self._record_failure(ctx.stage, exc)
                    if ctx.stage is not None and ctx.stage is not node:
                        ctx.stage.result = "FAILURE"
                except Interrupted as exc:
                    self._record_abort(ctx, ctx.stage, exc)
        finally:
            ctx.stage = previous
            if node is not None:
                self._close_stage(ctx, node)

    def _post_matches(self, condition: str, status: str) -> bool:
        previous = self.previous_result
        bad = ("FAILURE", "UNSTABLE", "ABORTED")
        return {
            "always": True,
            "cleanup": True,
            "success": status == "SUCCESS",
            "failure": status == "FAILURE",
            "unstable": status == "UNSTABLE",
            "aborted": status == "ABORTED",
            "notBuilt": status == "NOT_BUILT",
            "unsuccessful": status != "SUCCESS",
            "changed": previous is not None and previous != status,
            "fixed": status == "SUCCESS" and previous in ("FAILURE", "UNSTABLE"),
            "regression": previous == "SUCCESS" and status in bad,
        }.get(condition, False)


def _credentials_call(value: Any) -> str | None:
    """The id in `credentials('id')`, as a method-call value or as Groovy source."""
    if not isinstance(value, dict):
        return None
    if value.get("name") == "credentials":
        arguments = value.get("arguments") or []
        first = arguments[0] if isinstance(arguments, list) and arguments else arguments
        if isinstance(first, dict):
            return stringify(first.get("value", ""))
        return None
    source = stringify(value.get("value", "")) if not value.get("isLiteral") else ""
    if source.startswith("credentials("):
        return source[len("credentials(") :].rstrip(")").strip().strip("'\"")
    return None


def matrix_cells(matrix: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells of a `matrix`, as the stages a parallel runs: one per combination of values.

    Combinations follow Declarative's order (the first axis changes fastest), minus those an
    `exclude` matches: every axis it names has the cell's value among its `values` (or, with
    `notValues`, not among them). Each cell is a group of the matrix's stages named as Jenkins
    names it (`Matrix - OS = 'linux', JDK = '17'`), with the matrix's own `when`,
    `environment` and `post`, and the axis values (under `cell`) set before `when` is checked.
    """
    axes = [
        (str(axis.get("name", "")), [stringify(v.get("value", "")) for v in axis["values"]])
        for axis in matrix.get("axes", [])
    ]
    combinations: list[dict[str, str]] = [{}]
    for name, values in axes:
        combinations = [{**done, name: value} for value in values for done in combinations]

    cells = []
    for combination in combinations:
        if any(_excluded(combination, exclude) for exclude in matrix.get("excludes", [])):
            continue
        label = ", ".join(f"{name} = '{value}'" for name, value in combination.items())
        cell: dict[str, Any] = {
            key: matrix[key] for key in ("when", "environment", "post") if key in matrix
        }
        cell.update({"name": f"Matrix - {label}", "cell": combination, "stages": matrix["stages"]})
        cells.append(cell)
    return cells


def _excluded(values: dict[str, str], exclude: list[dict[str, Any]]) -> bool:
    if not exclude:
        return False
    for axis in exclude:
        listed = {stringify(v.get("value", "")) for v in axis.get("values", [])}
        inside = values.get(str(axis.get("name", ""))) in listed
        if inside == bool(axis.get("inverse")):
            return False
    return True


def declared_parameters(model: dict[str, Any]) -> dict[str, Any]:
    """Defaults of the `parameters` directive (what a first build sees in `params`)."""
    declared: dict[str, Any] = {}
    section = (model.get("pipeline") or {}).get("parameters") or {}
    for parameter in section.get("parameters", []):
        args = arguments(parameter, Scope({}, {}), "name")
        name = args.get("name")
        if not name:
            continue
        if parameter.get("name") == "choice":
            choices = args.get("choices", "")
            options = choices if isinstance(choices, list) else str(choices).splitlines()
            declared[str(name)] = options[0] if options else ""
        elif parameter.get("name") == "booleanParam":
            declared[str(name)] = bool(args.get("defaultValue", False))
        else:
            declared[str(name)] = args.get("defaultValue", "")
    return declared


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


_BLOCKS: dict[str, Callable[[PipelineExecution, Context, dict[str, Any]], None]] = {
    "withCredentials": PipelineExecution._bind_credentials,
    "withEnv": PipelineExecution._with_env,
    "dir": PipelineExecution._dir,
    "timeout": lambda execution, ctx, step: None,
    "retry": lambda execution, ctx, step: None,
    "catchError": lambda execution, ctx, step: None,
    "script": lambda execution, ctx, step: None,
}
