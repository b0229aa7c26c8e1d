"""`owned_patch`: the merge patch of the fields a reconciler owns, empty when they match."""

from __future__ import annotations

from libs.kube.objects import ObjectCache, owned_patch


def test_matching_owned_fields_give_an_empty_patch() -> None:
    actual = {"metadata": {"labels": {"a": "1", "other": "x"}}, "spec": {"list": [1, 2]}}

    assert owned_patch(actual, {"metadata": {"labels": {"a": "1"}}, "spec": {"list": [1, 2]}}) == {}


def test_only_differing_fields_are_patched_and_others_left_alone() -> None:
    actual = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"keep": True, "x": 1}}

    patch = owned_patch(actual, {"metadata": {"labels": {"a": "1", "b": "3"}}, "spec": {"x": 2}})

    assert patch == {"metadata": {"labels": {"b": "3"}}, "spec": {"x": 2}}


def test_lists_are_replaced_whole() -> None:
    patch = owned_patch({"spec": {"items": [1, 2, 3]}}, {"spec": {"items": [1, 2]}})

    assert patch == {"spec": {"items": [1, 2]}}


def test_empty_list_matches_a_missing_field() -> None:
    assert owned_patch({"spec": {}}, {"spec": {"clusterResourceWhitelist": []}}) == {}


def test_missing_mapping_is_set_whole() -> None:
    patch = owned_patch({"metadata": {}}, {"metadata": {"labels": {"a": "1"}}})

    assert patch == {"metadata": {"labels": {"a": "1"}}}


def test_none_removes_a_present_field() -> None:
    assert owned_patch({"spec": {"old": 1}}, {"spec": {"old": None}}) == {"spec": {"old": None}}
    assert owned_patch({"spec": {}}, {"spec": {"old": None}}) == {}


def test_cache_reports_an_object_leaving_a_selector_with_its_last_known_labels() -> None:
    seen: list[dict[str, str]] = []
    cache = ObjectCache(on_event=lambda obj: seen.append(obj["metadata"].get("labels", {})))
    cache.handle("ADDED", {"metadata": {"name": "n", "labels": {"owner": "7"}}})

    cache.handle("DELETED", {"metadata": {"name": "n"}})

    assert seen[-2:] == [{}, {"owner": "7"}]
    assert cache.get("n") is None
