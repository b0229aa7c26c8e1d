"""Generated models survive JSON -> Jenkinsfile -> JSON, with and without an original.

The strategies build every kind of stage (steps, sequential stages, parallel, matrix with
excludes, never a parallel or matrix inside another), when conditions with nesting and
flags, input, tools, libraries, in the form ``to_json`` writes them (a step with one
required parameter names it, a block step keeps its single argument), since that is the
form the round trip preserves; strings draw from the characters that make quoting hard.
"""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libs.jenkinsfile import to_jenkinsfile, to_json, validate

JSON = dict[str, Any]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

identifiers = st.from_regex(r"[a-z][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in {"script", "expression", "parallel", "stage", "true", "false",
                              "null", "in", "as", "def", "if", "for", "new", "return",
                              "instanceof", "else", "while", "try", "switch", "do"}
)  # fmt: skip
hard_text = st.text(
    alphabet=st.sampled_from([*(string.ascii_letters + " '\"\\$/{}\n\t-_.:@#"), "é", "中"]),
    max_size=20,
)


def literal(value: Any) -> JSON:
    return {"isLiteral": True, "value": value}


def script_block(code: str) -> list[JSON]:
    return [{"key": "scriptBlock", "value": literal(code)}]


literals = st.one_of(
    hard_text.map(literal),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(literal),
    st.floats(allow_nan=False, allow_infinity=False).map(literal),
    st.booleans().map(literal),
    st.just(literal(None)),
)
expressions = st.one_of(
    st.sampled_from(["${env.BRANCH_NAME}", "${scm}", "${params.X == 'y'}", "${[1, 2]}"]),
    identifiers.map(lambda name: '"value of ${' + name + '}"'),
).map(lambda text: {"isLiteral": False, "value": text})
values = st.one_of(literals, expressions)


def named(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[JSON]]:
    return st.lists(
        st.tuples(identifiers, children), min_size=1, max_size=3, unique_by=lambda kv: kv[0]
    ).map(lambda pairs: [{"key": k, "value": v} for k, v in pairs])


code = st.lists(
    st.sampled_from(["echo 'a'", "def x = [a: '}']", "if (x) { y() }", 'sh "${x}"']),
    min_size=1,
    max_size=3,
).map("\n".join)

plain_steps = st.one_of(
    st.builds(lambda v: {"name": "echo", "arguments": [{"key": "message", "value": v}]}, values),
    st.builds(lambda a: {"name": "sh", "arguments": a}, named(values)),
    st.builds(lambda n, v: {"name": "my" + n, "arguments": v}, identifiers, values),
    st.builds(
        lambda n, vs: {"name": "my" + n, "arguments": vs},
        identifiers,
        st.one_of(st.just([]), st.lists(values, min_size=2, max_size=3)),
    ),
    st.builds(lambda c: {"name": "script", "arguments": script_block(c)}, code),
)  # fmt: skip
steps = st.recursive(
    plain_steps,
    lambda inner: st.builds(
        lambda name, args, children: {"name": name, "arguments": args, "children": children},
        st.sampled_from(["dir", "timeout", "withEnv", "container"]),
        st.one_of(values, named(values), st.just([])),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=6,
)
step_lists = st.lists(steps, min_size=1, max_size=4)

method_calls = st.recursive(
    st.builds(lambda n: {"name": n, "arguments": []}, identifiers),
    lambda inner: st.builds(
        lambda n, args: {"name": n, "arguments": args},
        identifiers,
        st.lists(st.one_of(values, inner), max_size=2) | named(st.one_of(values, inner)),
    ),
    max_leaves=4,
)
agents = st.one_of(
    st.sampled_from([{"type": "any"}, {"type": "none"}]),
    st.builds(lambda v: {"type": "label", "argument": literal(v)}, hard_text.filter(bool)),
    st.builds(
        lambda image, args: {
            "type": "docker",
            "arguments": [{"key": "image", "value": literal(image)}]
            + [arg for arg in args if arg["key"] != "image"],
        },
        hard_text.filter(bool),
        named(st.one_of(values, named(values))),
    ),
)
environment = st.lists(
    st.tuples(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True),
        st.one_of(
            literals,
            expressions,
            hard_text.map(lambda t: {"name": "credentials", "arguments": [literal(t)]}),
        ),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda kv: kv[0],
).map(lambda pairs: [{"key": k, "value": v} for k, v in pairs])
when_conditions = st.recursive(
    st.one_of(
        st.builds(lambda v: {"name": "branch", "arguments": v}, literals),
        st.builds(
            lambda name, value: {"name": "environment", "arguments": [
                {"key": "name", "value": literal(name)}, {"key": "value", "value": value}
            ]},
            identifiers,
            values,
        ),
        st.builds(lambda c: {"name": "expression", "arguments": script_block(c)}, code),
        st.just({"name": "buildingTag", "arguments": []}),
    ),
    lambda inner: st.one_of(
        st.builds(
            lambda n, cs: {"name": n, "children": cs},
            st.sampled_from(["allOf", "anyOf"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(lambda c: {"name": "not", "children": [c]}, inner),
    ),
    max_leaves=4,
)  # fmt: skip


@st.composite
def whens(draw: st.DrawFn) -> JSON:
    when: JSON = {"conditions": draw(st.lists(when_conditions, min_size=1, max_size=2))}
    for flag in ("beforeAgent", "beforeInput", "beforeOptions"):
        if draw(st.booleans()):
            when[flag] = draw(st.booleans())
    return when


tools = st.lists(
    st.tuples(identifiers, st.one_of(hard_text.map(literal), expressions)),
    min_size=1,
    max_size=2,
    unique_by=lambda kv: kv[0],
).map(lambda pairs: [{"key": k, "value": v} for k, v in pairs])
libraries = st.lists(st.one_of(hard_text.map(literal), expressions), min_size=1, max_size=2).map(
    lambda items: {"libraries": items}
)


@st.composite
def inputs(draw: st.DrawFn) -> JSON:
    result: JSON = {"message": draw(values)}
    for field in ("id", "ok", "submitter", "submitterParameter"):
        if draw(st.booleans()):
            result[field] = draw(values)
    if draw(st.booleans()):
        result["parameters"] = {"parameters": draw(st.lists(method_calls, min_size=1, max_size=2))}
    return result


posts = st.lists(
    st.tuples(st.sampled_from(["always", "success", "failure", "cleanup"]), step_lists),
    min_size=1,
    max_size=3,
    unique_by=lambda kv: kv[0],
).map(
    lambda pairs: {
        "conditions": [
            {"condition": c, "branch": {"name": "default", "steps": s}} for c, s in pairs
        ]
    }
)


class Names:
    """Stage names unique across one pipeline, as Jenkins requires."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def draw(self, draw: st.DrawFn) -> str:
        name: str = draw(hard_text.filter(bool))
        if name in self.used:
            name = f"{name} {len(self.used)}"
        self.used.add(name)
        return name


@st.composite
def matrices(draw: st.DrawFn, names: Names, depth: int) -> JSON:
    axis_names = draw(st.lists(st.from_regex(r"[A-Z]{1,4}", fullmatch=True), min_size=1,
                               max_size=2, unique=True))  # fmt: skip
    axis_values = st.lists(hard_text.map(literal), min_size=1, max_size=3)
    matrix: JSON = {"axes": [{"name": n, "values": draw(axis_values)} for n in axis_names]}
    if draw(st.booleans()):
        exclude = []
        for name in axis_names:
            axis: JSON = {"name": name, "values": draw(axis_values)}
            if draw(st.booleans()):
                axis["inverse"] = True
            exclude.append(axis)
        matrix["excludes"] = [exclude]
    if draw(st.booleans()):
        matrix["agent"] = draw(agents)
    if draw(st.booleans()):
        matrix["when"] = draw(whens())
    matrix["stages"] = draw(stages(names, depth + 1, in_parallel=True))
    return matrix


@st.composite
def stages(
    draw: st.DrawFn, names: Names | None = None, depth: int = 0, *, in_parallel: bool = False
) -> list[JSON]:
    """Stages of every kind; nothing below a parallel or matrix holds another one."""
    names = names or Names()
    kinds = ["steps"]
    if depth < 2:
        kinds.append("stages")
        if not in_parallel:
            kinds.extend(["parallel", "matrix"])
    result: list[JSON] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3 if depth == 0 else 2))):
        stage: JSON = {"name": names.draw(draw)}
        if draw(st.booleans()):
            stage["agent"] = draw(agents)
        if draw(st.booleans()):
            stage["when"] = draw(whens())
        if draw(st.booleans()):
            stage["post"] = draw(posts)
        if draw(st.booleans()):
            stage["environment"] = draw(environment)
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            stage["tools"] = draw(tools)
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            stage["input"] = draw(inputs())
        kind = draw(st.sampled_from(kinds))
        if kind == "steps":
            stage["branches"] = [{"name": "default", "steps": draw(step_lists)}]
        elif kind == "stages":
            stage["stages"] = draw(stages(names, depth + 1, in_parallel=in_parallel))
        elif kind == "parallel":
            stage["parallel"] = draw(stages(names, depth + 1, in_parallel=True))
        else:
            stage["matrix"] = draw(matrices(names, depth))
        if kind in ("parallel", "matrix") and draw(st.booleans()):
            stage["failFast"] = draw(st.booleans())
        result.append(stage)
    return result


@st.composite
def models(draw: st.DrawFn) -> JSON:
    pipeline: JSON = {"stages": draw(stages()), "agent": draw(agents)}
    if draw(st.booleans()):
        pipeline["environment"] = draw(environment)
    if draw(st.booleans()):
        pipeline["tools"] = draw(tools)
    if draw(st.booleans()):
        pipeline["libraries"] = draw(libraries)
    if draw(st.booleans()):
        pipeline["post"] = draw(posts)
    for section in ("options", "parameters", "triggers"):
        if draw(st.booleans()):
            pipeline[section] = {section: draw(st.lists(method_calls, min_size=1, max_size=2))}
    return {"pipeline": pipeline}


@SETTINGS
@given(models())
def test_generated_model_survives_printing_and_reading(model: JSON) -> None:
    assert to_json(to_jenkinsfile(model)) == model


@SETTINGS
@given(models())
def test_generated_model_is_valid(model: JSON) -> None:
    assert validate(model) == []


@settings(SETTINGS, max_examples=15)
@given(models(), models())
def test_edit_against_any_original_reads_back_as_the_edit(original: JSON, model: JSON) -> None:
    original_text = to_jenkinsfile(original)
    assert to_json(to_jenkinsfile(model, original=original_text)) == model


@settings(SETTINGS, max_examples=15)
@given(models(), st.data())
def test_renamed_and_reordered_stages_read_back_as_the_edit(original: JSON, data: Any) -> None:
    original_text = to_jenkinsfile(original)
    model = copy.deepcopy(original)
    top = model["pipeline"]["stages"]
    index = data.draw(st.integers(min_value=0, max_value=len(top) - 1))
    top[index]["name"] += " renamed"
    if data.draw(st.booleans()):
        top.reverse()
    assert to_json(to_jenkinsfile(model, original=original_text)) == model
