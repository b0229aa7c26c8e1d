"""Generated models survive JSON -> Jenkinsfile -> JSON, with and without an original.

The strategies build models in the form ``to_json`` writes them (a step with one
required parameter names it, a block step keeps its single argument), since that is the
form the round trip preserves; strings draw from the characters that make quoting hard.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libs.jenkinsfile import to_jenkinsfile, to_json, validate

JSON = dict[str, Any]
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

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
    ),
    lambda inner: st.builds(
        lambda n, cs: {"name": n, "children": cs},
        st.sampled_from(["allOf", "anyOf"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=4,
)  # fmt: skip
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


@st.composite
def stages(draw: st.DrawFn) -> list[JSON]:
    names = draw(st.lists(hard_text.filter(bool), min_size=1, max_size=3, unique=True))
    result: list[JSON] = []
    for name in names:
        stage: JSON = {"name": name}
        if draw(st.booleans()):
            stage["agent"] = draw(agents)
        if draw(st.booleans()):
            stage["when"] = {"conditions": draw(st.lists(when_conditions, min_size=1, max_size=2))}
        if draw(st.booleans()):
            stage["post"] = draw(posts)
        if draw(st.booleans()):
            stage["environment"] = draw(environment)
        stage["branches"] = [{"name": "default", "steps": draw(step_lists)}]
        result.append(stage)
    return result


@st.composite
def models(draw: st.DrawFn) -> JSON:
    pipeline: JSON = {"stages": draw(stages()), "agent": draw(agents)}
    if draw(st.booleans()):
        pipeline["environment"] = draw(environment)
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


@settings(SETTINGS, max_examples=25)
@given(models(), models())
def test_edit_against_any_original_reads_back_as_the_edit(original: JSON, model: JSON) -> None:
    original_text = to_jenkinsfile(original)
    assert to_json(to_jenkinsfile(model, original=original_text)) == model
