"""JSON -> Jenkinsfile that keeps the original's comments and layout where nothing changed.

``to_jenkinsfile(model, original=text)`` reads ``text`` again and walks the two models side
by side. Whatever the edit left equal is copied from the original *verbatim*, with its
comments, blank lines and quoting; only the elements that changed are printed anew, at
the indentation of the element they replace. The walk goes down through the blocks that
hold lists, so a changed step only re-prints that step:

- the pipeline block and each stage (and their sections, matched by name);
- the stages and parallel lists (stages matched by name);
- a steps block, a post condition and a block step's children (steps matched by a
  longest-common-subsequence of their JSON, so an inserted step leaves its neighbours'
  comments in place);
- post conditions (by condition) and environment variables (by name);
- a when block's flags and conditions (as steps are).

Where one name leaves a list and another arrives at the same index, the two are the same
element renamed: a renamed stage or environment variable keeps its place, its comments
and (for a stage) everything inside it. A stage, post condition or block step whose
header changed (its name, or the arguments of ``dir('src') {``) re-prints only that header
and goes on matching its children.

Each element owns the text from the end of the previous element up to its own end,
including a comment on the same line after it; so the comment above a step moves and
disappears with that step, and the comment at the end of a block stays where it is.
An element the original does not have is inserted at its canonical position, on a new
line at the block's indentation.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from libs.jenkinsfile import _catalog as catalog
from libs.jenkinsfile._parser import Block, Call, Statement
from libs.jenkinsfile._reader import EXTENSION, Reader
from libs.jenkinsfile._writer import (
    INDENT,
    PIPELINE_ORDER,
    STAGE_ORDER,
    Writer,
    quote,
    stage_sections,
)

JSON = dict[str, Any]


@dataclass(slots=True)
class Old:
    """An element of the original: its statement, span and JSON."""

    key: Hashable
    json: Any
    statement: Statement
    lead_start: int  # where the text it owns starts (end of the previous element)
    trail_end: int  # its end, with a comment on the same line


@dataclass(slots=True)
class New:
    """An element of the new model: how to print it, and how to merge it into its old self."""

    key: Hashable
    json: Any
    render: Callable[[Writer], None]
    merge: Callable[[Old], str | None] | None = None


class Splicer:
    def __init__(self, original: str) -> None:
        self.reader = Reader(original)
        self.model = self.reader.read()
        self.text = original
        pipeline = self.reader.pipeline_call
        assert pipeline is not None and pipeline.block is not None
        self.pipeline = pipeline
        self.unit = self._indent_unit(pipeline)

    def _indent_unit(self, pipeline: Call) -> str:
        assert pipeline.block is not None
        statements = pipeline.block.statements or []
        if not statements:
            return INDENT
        outer = self.line_indent(pipeline.start)
        inner = self.line_indent(statements[0].start)
        unit = inner[len(outer) :] if inner.startswith(outer) else ""
        return unit or INDENT

    def line_indent(self, offset: int) -> str:
        start = self.reader.source.line_start(offset)
        end = start
        while end < len(self.text) and self.text[end] in " \t":
            end += 1
        return self.text[start:end]

    # -- the document ---------------------------------------------------------------

    def document(self, model: JSON) -> str:
        model = with_kept_text(model, self.model)
        if model == self.model:
            return self.text
        new_pipeline = model["pipeline"]
        old_extension = self.model["pipeline"].get(EXTENSION) or {}
        new_extension = new_pipeline.get(EXTENSION) or {}
        call = self.pipeline

        if new_extension.get("prelude") == old_extension.get("prelude"):
            head = self.text[: call.start]
        else:
            prelude = new_extension.get("prelude")
            head = prelude + "\n\n" if prelude else ""
        if new_extension.get("epilogue") == old_extension.get("epilogue"):
            tail = self.text[call.end :]
        else:
            epilogue = new_extension.get("epilogue")
            tail = "\n\n" + epilogue + "\n" if epilogue else "\n"

        return head + self.pipeline_text(new_pipeline, call) + tail

    def pipeline_text(self, pipeline: JSON, call: Call) -> str:
        assert call.block is not None
        olds: list[Old] = []
        reader = self.reader
        for name, statement in reader.sections(call.block, "pipeline", PIPELINE_ORDER):
            if name in catalog.PIPELINE_SECTIONS:
                olds.append(self.old(name, reader.pipeline_section(name, statement), statement))
            else:
                olds.append(self.raw_old(statement))
        news: list[New] = []
        for name in PIPELINE_ORDER:
            if name in pipeline:
                news.append(self.section_new(name, pipeline[name]))
        news.extend(self.raw_news(pipeline))
        return self.head(call) + self.block(call.block, olds, news, ordered=False)

    # -- elements -------------------------------------------------------------------

    def head(self, call: Call) -> str:
        assert call.block is not None
        return self.text[call.start : call.block.open]

    def old(self, key: Hashable, value: Any, statement: Statement) -> Old:
        return Old(key, value, statement, statement.start, statement.end)

    def raw_old(self, statement: Statement) -> Old:
        text = self.text[statement.start : statement.end]
        return Old(("raw", text), text, statement, statement.start, statement.end)

    def raw_news(self, owner: JSON) -> list[New]:
        news: list[New] = []
        for text in (owner.get(EXTENSION) or {}).get("sections", []):
            news.append(New(("raw", text), text, _code_renderer(text)))
        return news

    def section_new(self, name: str, value: Any) -> New:
        merge: Callable[[Old], str | None] | None = None
        if name in ("stages", "parallel"):
            merge = lambda old: self.stage_list(value, old)  # noqa: E731
        elif name == "post":
            merge = lambda old: self.post(value, old)  # noqa: E731
        elif name == "environment":
            merge = lambda old: self.environment(value, old)  # noqa: E731
        elif name == "steps":
            merge = lambda old: self.steps_section(value, old)  # noqa: E731
        elif name == "when":
            merge = lambda old: self.when(value, old)  # noqa: E731
        return New(name, value, lambda w: w.section(0, name, value), merge)

    # -- stages ---------------------------------------------------------------------

    def stage_list(self, stages: list[JSON], old: Old) -> str | None:
        call = old.statement
        if not isinstance(call, Call) or call.block is None or not call.block.statements:
            return None
        olds = [
            self.old(("stage", self.reader.stage(s)["name"]), self.reader.stage(s), s)
            for s in call.block.statements
        ]
        news = [
            New(
                ("stage", stage.get("name")),
                stage,
                _stage_renderer(stage),
                functools.partial(self.stage, stage),
            )
            for stage in stages
        ]
        return self.head(call) + self.block(call.block, olds, news, ordered=True)

    def stage(self, stage: JSON, old: Old) -> str | None:
        call = old.statement
        if not isinstance(call, Call) or call.block is None:
            return None
        olds: list[Old] = []
        for name, statement in self.reader.sections(call.block, "stage", STAGE_ORDER):
            if name not in catalog.STAGE_SECTIONS:
                olds.append(self.raw_old(statement))
                continue
            olds.append(self.old(name, self.stage_fragment(name, statement), statement))
        news = [self.section_new(name, value) for name, value in stage_sections(stage)]
        news.extend(self.raw_news(stage))
        head = self.head(call)
        if old.json.get("name") != stage.get("name"):  # renamed: re-print only the name
            name_arg = call.args[0]
            head = (
                self.text[call.start : name_arg.start]
                + quote(stage["name"])
                + self.text[name_arg.end : call.block.open]
            )
        return head + self.block(call.block, olds, news, ordered=False)

    def stage_fragment(self, name: str, call: Call) -> Any:
        """The JSON one stage section stands for, cut as :func:`stage_sections` cuts it."""
        reader = self.reader
        if name == "steps":
            branches, fail_fast = reader.steps_section(call)
            fragment: JSON = {"branches": branches}
            if fail_fast is not None:
                fragment["failFast"] = fail_fast
            return fragment
        if name == "failFast":
            return reader.boolean_flag(call)
        if name in ("parallel", "stages"):
            return reader.stages(call)
        if name == "matrix":
            return reader.matrix(call)
        return reader.common_section(name, call)

    # -- steps ----------------------------------------------------------------------

    def steps_section(self, section: JSON, old: Old) -> str | None:
        call = old.statement
        old_section = old.json
        if not isinstance(call, Call) or call.block is None or not call.block.statements:
            return None
        if not (_default_steps(section) and _default_steps(old_section)):
            return None
        return self.step_list(section["branches"][0]["steps"], call)

    def step_list(self, steps: list[JSON], call: Call, head: str | None = None) -> str:
        """The block of ``call`` holding ``steps``, after ``head`` (else the original's)."""
        assert call.block is not None
        olds = [self.old(None, self.reader.step(s), s) for s in call.block.statements or []]
        news = [New(None, step, _step_renderer(step), self.step_merger(step)) for step in steps]
        if head is None:
            head = self.head(call)
        return head + self.block(call.block, olds, news, ordered=True)

    def step_merger(self, step: JSON) -> Callable[[Old], str | None]:
        def merge(old: Old) -> str | None:
            call = old.statement
            both_blocks = "children" in step and "children" in old.json
            if not both_blocks or not isinstance(call, Call) or call.block is None:
                return None
            head = None
            if _head_of(step) != _head_of(old.json):
                writer = Writer(self.unit)
                head = writer.call_head(step["name"], step.get("arguments", []), block=True) + " "
            return self.step_list(step["children"], call, head)

        return merge

    def post(self, post: JSON, old: Old) -> str | None:
        call = old.statement
        if not isinstance(call, Call) or call.block is None:
            return None
        olds = [
            self.old(("post", s.name), self.reader.post_condition(s), s)
            for s in call.block.statements or []
            if isinstance(s, Call)
        ]
        news = [
            New(
                ("post", condition.get("condition")),
                condition,
                _post_condition_renderer(condition),
                functools.partial(self.post_condition, condition),
            )
            for condition in post.get("conditions", [])
        ]
        return self.head(call) + self.block(call.block, olds, news, ordered=True)

    def post_condition(self, condition: JSON, old: Old) -> str | None:
        call = old.statement
        if not isinstance(call, Call) or call.block is None:
            return None
        head = None
        if condition.get("condition") != old.json.get("condition"):
            head = f"{condition['condition']} "
        return self.step_list(condition["branch"]["steps"], call, head)

    def environment(self, entries: list[JSON], old: Old) -> str | None:
        call = old.statement
        if not isinstance(call, Call) or call.block is None:
            return None
        olds: list[Old] = []
        for statement in call.block.statements or []:
            entry = self.reader.environment_entry(statement)
            olds.append(self.old(("env", entry["key"]), entry, statement))
        news = [
            New(("env", entry.get("key")), entry, _environment_renderer(entry)) for entry in entries
        ]
        return self.head(call) + self.block(call.block, olds, news, ordered=True)

    def when(self, when: JSON, old: Old) -> str | None:
        """A when block: its flags and conditions matched as a list, like steps."""
        call = old.statement
        if not isinstance(call, Call) or call.block is None or not call.block.statements:
            return None
        olds: list[Old] = []
        for statement in call.block.statements:
            if isinstance(statement, Call) and statement.name in catalog.WHEN_FLAGS:
                flag = {"flag": statement.name, "value": self.reader.boolean_flag(statement)}
                olds.append(self.old(None, flag, statement))
            elif isinstance(statement, Call):
                olds.append(self.old(None, self.reader.when_condition(statement), statement))
            else:
                return None
        news = [
            New(None, {"flag": flag, "value": when[flag]}, _flag_renderer(flag, when[flag]))
            for flag in catalog.WHEN_FLAGS
            if flag in when
        ]
        news.extend(
            New(None, condition, _when_condition_renderer(condition))
            for condition in when["conditions"]
        )
        return self.head(call) + self.block(call.block, olds, news, ordered=True)

    # -- the generic block merge ----------------------------------------------------

    def block(self, block: Block, olds: list[Old], news: list[New], *, ordered: bool) -> str:
        """Text of ``{ ... }`` holding ``news``, reusing what ``olds`` already have."""
        self.attach_trivia(block, olds)
        pairs = _match(olds, news) if ordered else _match_keyed(olds, news)
        if not ordered:
            pairs = _keep_original_order(pairs, olds)
        indent = (
            self.line_indent(olds[0].statement.start)
            if olds
            else (self.line_indent(block.open) + self.unit)
        )

        parts = ["{"]
        for old, new in pairs:
            if new is None:
                continue
            if old is None:
                parts.append("\n" + indent + self.render(new, indent))
            elif old.json == new.json:
                parts.append(self.text[old.lead_start : old.trail_end])
            else:
                body = new.merge(old) if new.merge else None
                if body is None:
                    body = self.render(new, self.line_indent(old.statement.start))
                statement = old.statement
                parts.append(self.text[old.lead_start : statement.start])
                parts.append(body)
                parts.append(self.text[statement.end : old.trail_end])

        closing_start = olds[-1].trail_end if olds else block.open + 1
        closing = self.text[closing_start : block.close]
        if not olds and "\n" not in closing:
            closing = "\n" + self.line_indent(block.open)
        parts.append(closing + "}")
        return "".join(parts)

    def render(self, new: New, indent: str) -> str:
        writer = Writer(self.unit)
        new.render(writer)
        return writer.text(indent)

    def attach_trivia(self, block: Block, olds: list[Old]) -> None:
        previous_end = block.open + 1
        for old in olds:
            old.lead_start = previous_end
            old.trail_end = self.trailing_comment_end(old.statement.end)
            previous_end = old.trail_end

    def trailing_comment_end(self, end: int) -> int:
        text = self.text
        position = end
        while position < len(text) and text[position] in " \t;":
            position += 1
        if text.startswith("//", position):
            newline = text.find("\n", position)
            return len(text) if newline == -1 else newline
        if text.startswith("/*", position):
            close = text.find("*/", position)
            if close != -1 and "\n" not in text[position:close]:
                return close + 2
        return end


# -- kept text ------------------------------------------------------------------------


def with_kept_text(model: JSON, original: JSON) -> JSON:
    """``model`` with the original's ``"x-workbench"`` wherever ``model`` has no such key.

    An editor built for Jenkins's JSON drops keys it does not know. Its answer still means
    "the same pipeline, edited", so a missing key keeps the text the original kept (the
    prelude, the epilogue, unmodelled sections); a key that is present, even empty, is the
    editor's word. Stages are paired as the splice pairs them: by name, else by index
    when the original's stage at that index was renamed.
    """
    if not _keeps_text(original.get("pipeline")):
        return model  # the common case: nothing to restore, nothing to copy
    result = copy.deepcopy(model)
    pipeline, old_pipeline = result.get("pipeline"), original.get("pipeline")
    if isinstance(pipeline, dict) and isinstance(old_pipeline, dict):
        _keep_extension(pipeline, old_pipeline)
        _keep_stage_extensions(pipeline.get("stages"), old_pipeline.get("stages"))
    return result


def _keeps_text(owner: Any) -> bool:
    """Whether a pipeline, stage or matrix of the original, or one inside it, keeps text."""
    if not isinstance(owner, dict):
        return False
    if EXTENSION in owner or _keeps_text(owner.get("matrix")):
        return True
    return any(
        _keeps_text(stage)
        for key in ("stages", "parallel")
        if isinstance(owner.get(key), list)
        for stage in owner[key]
    )


def _keep_extension(owner: JSON, old: JSON) -> None:
    if EXTENSION not in owner and EXTENSION in old:
        owner[EXTENSION] = copy.deepcopy(old[EXTENSION])


def _keep_stage_extensions(stages: Any, olds: Any) -> None:
    if not isinstance(stages, list) or not isinstance(olds, list):
        return
    old_stages = [old for old in olds if isinstance(old, dict)]
    by_name = {old.get("name"): old for old in old_stages}
    new_names = {stage.get("name") for stage in stages if isinstance(stage, dict)}
    for index, stage in enumerate(stages):
        if not isinstance(stage, dict):
            continue
        old = by_name.get(stage.get("name"))
        renamed = index < len(old_stages) and old_stages[index].get("name") not in new_names
        if old is None and renamed:
            old = old_stages[index]
        if old is None:
            continue
        _keep_extension(stage, old)
        for key in ("stages", "parallel"):
            _keep_stage_extensions(stage.get(key), old.get(key))
        matrix, old_matrix = stage.get("matrix"), old.get("matrix")
        if isinstance(matrix, dict) and isinstance(old_matrix, dict):
            _keep_extension(matrix, old_matrix)
            _keep_stage_extensions(matrix.get("stages"), old_matrix.get("stages"))


# -- matching ---------------------------------------------------------------------------


def _match(olds: list[Old], news: list[New]) -> list[tuple[Old | None, New | None]]:
    """Pairs in the new order: by key where elements have keys, else by a diff of JSON."""
    if news and news[0].key is not None:
        return _match_renamed(olds, news, _match_keyed(olds, news))
    old_keys = [json.dumps(o.json, sort_keys=True) for o in olds]
    new_keys = [json.dumps(n.json, sort_keys=True) for n in news]
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    pairs: list[tuple[Old | None, New | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or tag == "replace":
            count = min(i2 - i1, j2 - j1)
            pairs.extend((olds[i1 + k], news[j1 + k]) for k in range(count))
            pairs.extend((None, news[j]) for j in range(j1 + count, j2))
        elif tag == "insert":
            pairs.extend((None, news[j]) for j in range(j1, j2))
    return pairs


def _match_keyed(olds: list[Old], news: list[New]) -> list[tuple[Old | None, New | None]]:
    available: dict[Hashable, list[Old]] = {}
    for old in olds:
        available.setdefault(old.key, []).append(old)
    pairs: list[tuple[Old | None, New | None]] = []
    for new in news:
        candidates = available.get(new.key)
        pairs.append((candidates.pop(0) if candidates else None, new))
    return pairs


def _match_renamed(
    olds: list[Old], news: list[New], pairs: list[tuple[Old | None, New | None]]
) -> list[tuple[Old | None, New | None]]:
    """Pair a new element with the old one at its index when the old one's key left."""
    new_keys = {new.key for new in news}
    old_keys = {old.key for old in olds}
    taken = {id(old) for old, _ in pairs if old is not None}
    result: list[tuple[Old | None, New | None]] = []
    for index, (old, new) in enumerate(pairs):
        if old is None and new is not None and new.key not in old_keys and index < len(olds):
            candidate = olds[index]
            if id(candidate) not in taken and candidate.key not in new_keys:
                taken.add(id(candidate))
                old = candidate
        result.append((old, new))
    return result


def _keep_original_order(
    pairs: list[tuple[Old | None, New | None]], olds: list[Old]
) -> list[tuple[Old | None, New | None]]:
    """Sections keep the original's order; a new one goes before the next section after it."""
    position = {id(old): index for index, old in enumerate(olds)}
    result: list[tuple[Old | None, New | None]] = [p for p in pairs if p[0] is not None]
    result.sort(key=lambda pair: position[id(pair[0])])
    for canonical, pair in enumerate(pairs):
        if pair[0] is not None:
            continue
        later = {id(p[0]) for p in pairs[canonical + 1 :] if p[0] is not None}
        index = next(
            (i for i, p in enumerate(result) if p[0] is not None and id(p[0]) in later),
            len(result),
        )
        result.insert(index, pair)
    return result


def _head_of(step: JSON) -> tuple[Any, Any]:
    return step.get("name"), step.get("arguments")


def _default_steps(section: Any) -> bool:
    branches = section.get("branches") if isinstance(section, dict) else None
    return (
        isinstance(branches, list)
        and len(branches) == 1
        and branches[0].get("name") == "default"
        and "failFast" not in section
    )


def _code_renderer(text: str) -> Callable[[Writer], None]:
    return lambda w: w.code_lines(0, text)


def _stage_renderer(stage: JSON) -> Callable[[Writer], None]:
    return lambda w: w.stage(0, stage)


def _step_renderer(step: JSON) -> Callable[[Writer], None]:
    return lambda w: w.step(0, step)


def _post_condition_renderer(condition: JSON) -> Callable[[Writer], None]:
    return lambda w: w.post_condition(0, condition)


def _flag_renderer(flag: str, value: bool) -> Callable[[Writer], None]:
    return lambda w: w.line(0, f"{flag} {'true' if value else 'false'}")


def _when_condition_renderer(condition: JSON) -> Callable[[Writer], None]:
    return lambda w: w.when_condition(0, condition)


def _environment_renderer(entry: JSON) -> Callable[[Writer], None]:
    return lambda w: w.line(0, w.environment_entry(entry))


__all__ = ["Splicer"]
