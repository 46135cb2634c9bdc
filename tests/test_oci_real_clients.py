"""Real OCI clients against the front end over HTTP on 127.0.0.1: skopeo copies a
multi-layer image in and out, the ORAS Python SDK pushes and pulls an artifact.

skopeo is Debian's package (``.ci/run`` installs it): without it these tests skip,
except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import subprocess

import oras.client
import pytest
from oci_images import read_layout, write_layout
from oci_server import oci_server

from ecr_upload_model import Registry
from ecr_upload_model.manifests import ImageTag
from ecr_upload_model.oci import Dialect, OciFrontEnd
from ecr_upload_model.registry import MemoryStore

PASSWORD = "a-password-from-get-authorization-token"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false"}


def new_registry() -> Registry:
    registry = Registry("123456789012", store=MemoryStore(keep_layers=True))
    registry.create_repository("team/app")
    return registry


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


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


@pytest.mark.parametrize("dialect", list(Dialect))
def test_skopeo_copies_a_multi_layer_image_in_and_back_byte_for_byte(
    skopeo: list[str], tmp_path: pathlib.Path, dialect: Dialect
) -> None:
    # One layer larger than an UploadLayerPart may be: skopeo streams it in one PATCH.
    layers = [random_bytes(21 * 1024 * 1024, 1), b"a small layer", random_bytes(3000, 2)]
    manifest, blobs = write_layout(tmp_path / "image", "v1", layers)
    registry = new_registry()
    with oci_server(OciFrontEnd(registry, dialect=dialect)) as address:
        image = f"docker://{address}/team/app:v1"
        pushed = run(
            [*skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'image'}:v1", image],
            tmp_path,
        )
        assert pushed.returncode == 0, pushed.stderr
        inspected = run([*skopeo, "inspect", "--tls-verify=false", image], tmp_path)
        assert inspected.returncode == 0, inspected.stderr
        pulled = run(
            [*skopeo, "copy", "--src-tls-verify=false", image, f"oci:{tmp_path / 'back'}:v1"],
            tmp_path,
        )
        assert pulled.returncode == 0, pulled.stderr
    layer_digests = [layer["digest"] for layer in json.loads(manifest)["layers"]]
    assert json.loads(inspected.stdout)["Layers"] == layer_digests
    assert read_layout(tmp_path / "back") == blobs
    assert registry.image_tags(registry.create_repository("team/app")) == [ImageTag("v1")]


def test_skopeo_pushes_with_ecrs_credentials_and_is_refused_without(
    skopeo: list[str], tmp_path: pathlib.Path
) -> None:
    write_layout(tmp_path / "image", "v1", [b"one layer"])
    registry = new_registry()
    front_end = OciFrontEnd(registry, verify_password=lambda password: password == PASSWORD)
    source = f"oci:{tmp_path / 'image'}:v1"
    with oci_server(front_end) as address:
        copy = [*skopeo, "copy", "--dest-tls-verify=false", source]
        refused = run([*copy, f"docker://{address}/team/app:v1"], tmp_path)
        assert refused.returncode != 0
        assert "authentication required" in refused.stderr
        wrong = run(
            [*copy, "--dest-creds", "AWS:wrong", f"docker://{address}/team/app:v1"], tmp_path
        )
        assert wrong.returncode != 0
        assert registry.image_tags(registry.create_repository("team/app")) == []
        accepted = run(
            [*copy, "--dest-creds", f"AWS:{PASSWORD}", f"docker://{address}/team/app:v1"],
            tmp_path,
        )
        assert accepted.returncode == 0, accepted.stderr
    assert registry.image_tags(registry.create_repository("team/app")) == [ImageTag("v1")]


@pytest.mark.parametrize("chunked", [False, True], ids=["post-put", "chunked"])
def test_oras_pushes_and_pulls_an_artifact(tmp_path: pathlib.Path, chunked: bool) -> None:
    artifact = tmp_path / "artifact.bin"
    artifact.write_bytes(random_bytes(7 * 1024 * 1024, 3))
    registry = new_registry()
    with oci_server(OciFrontEnd(registry)) as address:
        client = oras.client.OrasClient(hostname=address, insecure=True)
        target = f"{address}/team/app:v1"
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
