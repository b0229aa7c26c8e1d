"""`tree=` parsing and filtering, as every `api/json` applies it."""

from __future__ import annotations

import pytest

from sandbox.jenkins._tree import JsonMap, TreeError, apply_tree, parse_tree

JOB = {
    "_class": "WorkflowJob",
    "name": "pipe",
    "color": "blue",
    "builds": [{"_class": "Run", "number": n, "url": f"u{n}"} for n in (3, 2, 1)],
}


def test_tree_keeps_only_named_properties_and_class() -> None:
    assert apply_tree(JOB, parse_tree("name")) == {"_class": "WorkflowJob", "name": "pipe"}


def test_nested_tree_filters_list_items() -> None:
    filtered = apply_tree(JOB, parse_tree("builds[number]"))

    assert filtered["builds"] == [{"_class": "Run", "number": n} for n in (3, 2, 1)]


def test_range_limits_a_list() -> None:
    filtered = apply_tree(JOB, parse_tree("builds[number]{0,2}"))

    assert [b["number"] for b in filtered["builds"]] == [3, 2]


def test_map_property_applies_the_tree_to_values() -> None:
    store = {"domains": JsonMap({"_": {"_class": "D", "urlName": "_", "description": "x"}})}

    assert apply_tree(store, parse_tree("domains[urlName]")) == {
        "domains": {"_": {"_class": "D", "urlName": "_"}}
    }


def test_depth_counts_nesting_levels() -> None:
    assert parse_tree("jobs[name,jobs[name]]").depth() == 3


def test_unclosed_bracket_is_an_error() -> None:
    with pytest.raises(TreeError):
        parse_tree("jobs[name")
