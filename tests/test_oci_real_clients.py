"""Real OCI clients against ``serve`` (a subprocess on 127.0.0.1): skopeo copies a
multi-layer image in and out, also across a restart of ``serve`` on the same data; with
``--credentials`` it logs in with GetAuthorizationToken's password (from boto3) and is
refused without; a layer it pushed is found by boto3's BatchCheckLayerAvailability on
the same port; the ORAS Python SDK pushes and pulls an artifact.

skopeo is Debian's package (``.ci/run`` installs it): without it these tests skip,
except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import random
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import oras.client
import pytest
from oci_images import read_layout, write_layout
from serve_process import DUMMY_AWS_ENVIRONMENT, Served, serving

boto3 = pytest.importorskip("boto3")

#: What ``serve --credentials`` checks every JSON API call's signature against.
ACCESS_KEY, SECRET_KEY = DUMMY_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"], "test"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false"}


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def address(served: Served) -> str:
    """``127.0.0.1:PORT``, as an image reference names the registry."""
    return urlsplit(served.url).netloc


def ecr(served: Served) -> Any:
    return boto3.client(
        "ecr",
        endpoint_url=served.url,
        region_name=DUMMY_AWS_ENVIRONMENT["AWS_DEFAULT_REGION"],
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def skopeo(tmp_path: pathlib.Path) -> list[str]:
    """The skopeo command with a policy that accepts any image, in a home of its own."""
    executable = shutil.which("skopeo")
    if executable is None:
        reason = "skopeo is not on PATH (.ci/run installs Debian's skopeo)"
        if under_ci():
            pytest.fail(f"{reason}; under CI the skopeo tests must run, not skip")
        pytest.skip(reason)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    return [executable, "--policy", str(policy)]


def run(command: list[str], home: pathlib.Path) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=environment, check=False
    )


def test_skopeo_copies_a_multi_layer_image_in_and_back_byte_for_byte_across_a_restart(
    skopeo: list[str], tmp_path: pathlib.Path
) -> None:
    # One layer larger than an UploadLayerPart may be: skopeo streams it in one PATCH.
    layers = [random_bytes(21 * 1024 * 1024, 1), b"a small layer", random_bytes(3000, 2)]
    manifest, blobs = write_layout(tmp_path / "image", "v1", layers)
    data = tmp_path / "data"
    with serving(data, "--repository", "team/app") as served:
        image = f"docker://{address(served)}/team/app:v1"
        pushed = run(
            [*skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'image'}:v1", image],
            tmp_path,
        )
        assert pushed.returncode == 0, pushed.stderr
    with serving(data) as served:  # the manifest, its tag and its layers are kept
        image = f"docker://{address(served)}/team/app:v1"
        inspected = run([*skopeo, "inspect", "--tls-verify=false", image], tmp_path)
        assert inspected.returncode == 0, inspected.stderr
        tags = run([*skopeo, "list-tags", "--tls-verify=false", image.rpartition(":")[0]], tmp_path)
        assert tags.returncode == 0, tags.stderr
        pulled = run(
            [*skopeo, "copy", "--src-tls-verify=false", image, f"oci:{tmp_path / 'back'}:v1"],
            tmp_path,
        )
        assert pulled.returncode == 0, pulled.stderr
    layer_digests = [layer["digest"] for layer in json.loads(manifest)["layers"]]
    assert json.loads(inspected.stdout)["Layers"] == layer_digests
    assert json.loads(tags.stdout)["Tags"] == ["v1"]
    assert read_layout(tmp_path / "back") == blobs


def test_skopeo_pushes_with_ecrs_password_and_boto3_finds_the_layer(
    skopeo: list[str], tmp_path: pathlib.Path
) -> None:
    manifest, _ = write_layout(tmp_path / "image", "v1", [b"one layer"])
    layer = json.loads(manifest)["layers"][0]["digest"]
    source = f"oci:{tmp_path / 'image'}:v1"
    credentials = f"{ACCESS_KEY}:{SECRET_KEY}"
    with serving(
        tmp_path / "data", "--repository", "team/app", "--credentials", credentials
    ) as served:
        token = ecr(served).get_authorization_token()["authorizationData"][0]
        user, _, password = base64.b64decode(token["authorizationToken"]).decode().partition(":")
        assert user == "AWS"
        target = f"docker://{address(served)}/team/app:v1"
        copy = [*skopeo, "copy", "--dest-tls-verify=false", source]

        refused = run([*copy, target], tmp_path)
        assert refused.returncode != 0
        assert "authentication required" in refused.stderr
        wrong = run([*copy, "--dest-creds", "AWS:wrong", target], tmp_path)
        assert wrong.returncode != 0
        assert "authentication required" in wrong.stderr

        def availability() -> str:
            """The layer's availability, or the failure's code."""
            found = ecr(served).batch_check_layer_availability(
                repositoryName="team/app", layerDigests=[layer]
            )
            if found["layers"]:
                return str(found["layers"][0]["layerAvailability"])
            return str(found["failures"][0]["failureCode"])

        assert availability() == "MissingLayerDigest"
        accepted = run([*copy, "--dest-creds", f"AWS:{password}", target], tmp_path)
        assert accepted.returncode == 0, accepted.stderr
        assert availability() == "AVAILABLE"


@pytest.mark.parametrize("chunked", [False, True], ids=["post-put", "chunked"])
def test_oras_pushes_and_pulls_an_artifact(tmp_path: pathlib.Path, chunked: bool) -> None:
    artifact = tmp_path / "artifact.bin"
    artifact.write_bytes(random_bytes(7 * 1024 * 1024, 3))
    with serving(tmp_path / "data", "--repository", "team/app") as served:
        client = oras.client.OrasClient(hostname=address(served), insecure=True)
        target = f"{address(served)}/team/app:v1"
        pushed = client.push(
            files=[str(artifact)],
            target=target,
            disable_path_validation=True,
            do_chunked=chunked,
            chunk_size=5 * 1024 * 1024,  # ECR's smallest part: a 5 MiB chunk, then 2 MiB
        )
        assert pushed.status_code == 201
        files = client.pull(target=target, outdir=str(tmp_path / "pulled"))
    assert [pathlib.Path(file).read_bytes() for file in files] == [artifact.read_bytes()]
