"""Basic authentication and the CSRF crumb, as Jenkins enforces them."""

from __future__ import annotations

import httpx

from sandbox.jenkins import JenkinsStandIn


async def test_password_post_without_crumb_is_forbidden(standin: JenkinsStandIn) -> None:
    auth = (standin.admin_user, standin.admin_password)

    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as http:
        response = await http.post("createItem", params={"name": "f", "mode": "x"})

    assert response.status_code == 403
    assert "No valid crumb" in response.text


async def test_password_post_with_the_issued_crumb_is_accepted(standin: JenkinsStandIn) -> None:
    auth = (standin.admin_user, standin.admin_password)

    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as http:
        crumb = (await http.get("crumbIssuer/api/json")).json()
        response = await http.post(
            "createItem",
            params={"name": "f", "mode": "com.cloudbees.hudson.plugins.folder.Folder"},
            headers={crumb["crumbRequestField"]: crumb["crumb"]},
        )

    assert response.status_code == 302
    assert standin.item("f") is not None


async def test_api_token_post_needs_no_crumb(standin: JenkinsStandIn) -> None:
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as http:
        response = await http.post(
            "createItem", params={"name": "f", "mode": "com.cloudbees.hudson.plugins.folder.Folder"}
        )

    assert response.status_code == 302


async def test_disabled_crumb_issuer_answers_404(standin: JenkinsStandIn) -> None:
    standin.apply_casc("jenkins:\n  crumbIssuer: none\n")
    auth = (standin.admin_user, standin.admin_password)

    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as http:
        response = await http.get("crumbIssuer/api/json")

    assert response.status_code == 404


async def test_every_response_names_the_jenkins_version(standin: JenkinsStandIn) -> None:
    async with httpx.AsyncClient(base_url=standin.url) as http:
        response = await http.get("api/json")

    assert response.status_code == 401
    assert response.headers["X-Jenkins"] == "2.426.3"
