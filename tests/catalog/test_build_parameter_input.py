"""Bad global build parameter input is a 400 whose message names the field."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import PIPELINE, Stack

PARAMETERS = f"{PIPELINE}/global-build-parameters"


@pytest.fixture(scope="module")
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "choiceListText": ["a"]}, "name"),
        ({"name": "a/b", "choiceListText": ["a"]}, "name"),
        ({"name": "a..b", "choiceListText": ["a"]}, "name"),
        ({"name": "1X", "choiceListText": ["a"]}, "name"),
        ({"name": "X" * 129, "choiceListText": ["a"]}, "name"),
        ({"name": "X", "choiceListText": []}, "choiceListText"),
        ({"name": "X", "choiceListText": ["a", "a"]}, "choiceListText"),
        ({"name": "X", "choiceListText": ["two\nlines"]}, "choiceListText"),
        ({"name": "X", "choiceListText": [""]}, "choiceListText"),
    ],
)
async def test_bad_parameter_is_400_naming_the_field(
    stack: Stack, body: dict[str, object], field: str
) -> None:
    answer = await stack.http.post(PARAMETERS, json=body, headers=stack.auth("admin"))

    assert answer.status_code == 400
    assert answer.json()["message"].startswith(f"{field}:")


async def test_sorting_by_namespace_is_400(stack: Stack) -> None:
    answer = await stack.http.get(
        PARAMETERS, params={"sortBy": "NAMESPACE"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 400
    assert "sortBy" in answer.json()["message"]


async def test_bad_old_name_is_400_naming_old_name(stack: Stack) -> None:
    answer = await stack.http.put(
        f"{PARAMETERS}/a..b",
        json={"name": "X", "choiceListText": ["a"]},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("oldName:")
