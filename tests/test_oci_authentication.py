"""HTTP Basic authentication on /v2/, as ECR's proxy asks for it: user AWS and a
password the registry accepts."""

from __future__ import annotations

import base64

import pytest
from oci_calls import V2, code

from ecr_upload_model import UploadId
from ecr_upload_model.oci import OciFrontEnd

PASSWORD = "signed-token"
FIRST_UPLOAD = UploadId("00000000-0000-0000-0000-000000000000")


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def guarded(realm: str | None = None) -> tuple[OciFrontEnd, list[str]]:
    asked: list[str] = []

    def verify_password(password: str) -> bool:
        asked.append(password)
        return password == PASSWORD

    front_end = OciFrontEnd(V2().registry, verify_password=verify_password, realm=realm)
    return front_end, asked


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(f"AWS:{PASSWORD}x"),
        basic(f"aws:{PASSWORD}"),
        basic(f"someone:{PASSWORD}"),
        basic("AWS"),
        {"Authorization": "Basic not*base64"},
        {"Authorization": "Basic " + base64.b64encode(b"AWS:\xff").decode()},
        {"Authorization": f"Bearer {PASSWORD}"},
    ],
    ids=[
        "none",
        "wrong password",
        "user case",
        "other user",
        "no colon",
        "not base64",
        "not utf-8",
        "bearer",
    ],
)
def test_without_the_aws_user_and_a_good_password_every_request_is_401(
    headers: dict[str, str],
) -> None:
    front_end, _ = guarded()
    for method, path in (("GET", "/v2/"), ("POST", "/v2/team/app/blobs/uploads/")):
        response = front_end.handle(method, path, headers={**headers, "Host": "127.0.0.1:5000"})
        assert code(response) == (401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == (
            'Basic realm="https://127.0.0.1:5000",service="ecr.amazonaws.com"'
        )
    assert front_end.registry.session(FIRST_UPLOAD) is None  # nothing was started


def test_the_aws_user_with_a_password_it_accepts_is_let_in() -> None:
    front_end, asked = guarded()
    response = front_end.handle("GET", "/v2/", headers=basic(f"AWS:{PASSWORD}"))
    assert (response.status, response.body) == (200, b"{}")
    # The header's name and the scheme in any case.
    encoded = base64.b64encode(f"AWS:{PASSWORD}".encode()).decode()
    response = front_end.handle(
        "POST", "/v2/team/app/blobs/uploads/", headers={"authorization": f"basic {encoded}"}
    )
    assert response.status == 202
    assert asked == [PASSWORD, PASSWORD]


def test_the_realm_is_the_one_given_or_else_a_safe_host() -> None:
    front_end, _ = guarded(realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    response = front_end.handle("GET", "/v2/")
    assert response.headers["WWW-Authenticate"] == (
        'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",'
        'service="ecr.amazonaws.com"'
    )
    front_end, _ = guarded()
    response = front_end.handle("GET", "/v2/", headers={"Host": 'evil",x="y'})
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="ecr_upload_model"')


def test_without_verify_password_no_authentication_is_asked() -> None:
    response = V2().call("GET", "/v2/")
    assert (response.status, response.body) == (200, b"{}")
    assert "WWW-Authenticate" not in response.headers
