"""Global build parameters over REST: platform admins write, every signed-in user reads."""

from __future__ import annotations

from tests.catalog.conftest import PIPELINE, Stack

PARAMETERS = f"{PIPELINE}/global-build-parameters"


async def create(stack: Stack, name: str, choices: list[str]) -> None:
    answer = await stack.http.post(
        PARAMETERS, json={"name": name, "choiceListText": choices}, headers=stack.auth("admin")
    )
    assert answer.status_code == 200, answer.text


async def test_admin_creates_a_parameter_in_the_contract_shape(stack: Stack) -> None:
    answer = await stack.http.post(
        PARAMETERS,
        json={"name": "REGION", "choiceListText": ["eu", "us"]},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": "REGION", "choiceListText": ["eu", "us"]}


async def test_any_signed_in_user_lists_parameters_with_pagination(stack: Stack) -> None:
    for name in ("B", "A", "C"):
        await create(stack, name, ["x"])

    answer = await stack.http.get(
        PARAMETERS,
        params={"pageSize": 2, "page": 2, "sortBy": "FIELD_NAME", "sortDir": "ASC"},
        headers=stack.auth("bob"),
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["items"] == [{"name": "C", "choiceListText": ["x"]}]
    assert body["pagination"] == {"page": 2, "pageSize": 2, "total": 3, "pages": 2}


async def test_list_filters_by_fuzzy_name(stack: Stack) -> None:
    await create(stack, "REGION", ["eu"])
    await create(stack, "ZONE", ["a"])

    answer = await stack.http.get(
        PARAMETERS, params={"fuzzyName": "reg"}, headers=stack.auth("bob")
    )

    assert [p["name"] for p in answer.json()["items"]] == ["REGION"]


async def test_non_admin_cannot_create_a_parameter(stack: Stack) -> None:
    answer = await stack.http.post(
        PARAMETERS, json={"name": "X", "choiceListText": ["a"]}, headers=stack.auth("bob")
    )

    assert answer.status_code == 403


async def test_duplicate_parameter_is_409(stack: Stack) -> None:
    await create(stack, "REGION", ["eu"])

    answer = await stack.http.post(
        PARAMETERS, json={"name": "REGION", "choiceListText": ["x"]}, headers=stack.auth("admin")
    )

    assert answer.status_code == 409


async def test_update_renames_by_old_name_and_replaces_choices(stack: Stack) -> None:
    await create(stack, "REGION", ["eu"])

    answer = await stack.http.put(
        f"{PARAMETERS}/REGION",
        json={"name": "AREA", "choiceListText": ["north", "south"]},
        headers=stack.auth("admin"),
    )
    listed = await stack.http.get(PARAMETERS, headers=stack.auth("admin"))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": "AREA", "choiceListText": ["north", "south"]}
    assert listed.json()["items"] == [{"name": "AREA", "choiceListText": ["north", "south"]}]


async def test_rename_onto_an_existing_name_is_409(stack: Stack) -> None:
    await create(stack, "REGION", ["eu"])
    await create(stack, "ZONE", ["a"])

    answer = await stack.http.put(
        f"{PARAMETERS}/REGION",
        json={"name": "ZONE", "choiceListText": ["eu"]},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 409


async def test_update_of_a_missing_parameter_is_404(stack: Stack) -> None:
    answer = await stack.http.put(
        f"{PARAMETERS}/NOPE",
        json={"name": "X", "choiceListText": ["a"]},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 404


async def test_delete_removes_the_parameter(stack: Stack) -> None:
    await create(stack, "REGION", ["eu"])

    deleted = await stack.http.delete(f"{PARAMETERS}/REGION", headers=stack.auth("admin"))
    again = await stack.http.delete(f"{PARAMETERS}/REGION", headers=stack.auth("admin"))

    assert deleted.status_code == 200 and deleted.json() == {}
    assert again.status_code == 404


async def test_non_admin_cannot_delete_a_parameter(stack: Stack) -> None:
    await create(stack, "REGION", ["eu"])

    answer = await stack.http.delete(f"{PARAMETERS}/REGION", headers=stack.auth("bob"))

    assert answer.status_code == 403
