"""The translation table: every httpx error and status class lands on a domain error."""

from __future__ import annotations

import inspect

import httpx
import pytest

from libs.common.errors import WorkbenchError
from libs.jenkins import (
    JenkinsBadRequest,
    JenkinsConflict,
    JenkinsError,
    JenkinsNotFound,
    JenkinsUnauthorized,
    JenkinsUnreachable,
)
from libs.jenkins.errors import translate

REQUEST = httpx.Request("GET", "http://jenkins/job/a/api/json")


def _httpx_errors() -> list[type[httpx.HTTPError]]:
    return [
        cls
        for _, cls in inspect.getmembers(httpx, inspect.isclass)
        if issubclass(cls, httpx.HTTPError) and cls is not httpx.HTTPStatusError
    ]


@pytest.mark.parametrize("cls", _httpx_errors(), ids=lambda cls: cls.__name__)
def test_every_httpx_error_becomes_a_jenkins_error(cls: type[httpx.HTTPError]) -> None:
    if issubclass(cls, httpx.RequestError):
        error: httpx.HTTPError = cls("boom", request=REQUEST)
    else:
        error = cls("boom")

    translated = translate("GET", "job/a/api/json", error)

    assert isinstance(translated, JenkinsError) and isinstance(translated, WorkbenchError)


@pytest.mark.parametrize(
    "cls", [httpx.ConnectError, httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ReadError]
)
def test_network_errors_are_unreachable(cls: type[httpx.RequestError]) -> None:
    translated = translate("GET", "api/json", cls("boom", request=REQUEST))

    assert isinstance(translated, JenkinsUnreachable)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, JenkinsBadRequest),
        (401, JenkinsUnauthorized),
        (403, JenkinsUnauthorized),
        (404, JenkinsNotFound),
        (409, JenkinsConflict),
        (500, JenkinsError),
        (502, JenkinsUnreachable),
        (503, JenkinsUnreachable),
        (504, JenkinsUnreachable),
    ],
)
def test_statuses_map_to_their_error(status: int, expected: type[JenkinsError]) -> None:
    translated = translate("GET", "api/json", httpx.Response(status, request=REQUEST))

    assert type(translated) is expected and translated.status == status


def test_a_400_saying_already_exists_is_a_conflict() -> None:
    response = httpx.Response(
        400, headers={"X-Error": "A job already exists with the name 'app'"}, request=REQUEST
    )

    translated = translate("POST", "createItem", response)

    assert isinstance(translated, JenkinsConflict) and "already exists" in translated.message


def test_messages_name_the_method_and_path() -> None:
    translated = translate("POST", "job/a/build", httpx.Response(404, request=REQUEST))

    assert translated.message == "Jenkins answered 404 to POST /job/a/build"
