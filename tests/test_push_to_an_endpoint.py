"""Pushes through boto3 to an ECR-compatible endpoint: a local server on 127.0.0.1, with
dummy credentials; nothing reaches AWS."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from local_ecr_server import local_ecr_server

import ecr_upload_model
from ecr_upload_model import LayerDigest, Limits
from ecr_upload_model.boto3_transport import Boto3Transport, ecr_client
from ecr_upload_model.planning import push_layer

PACKAGE_ROOT = str(Path(ecr_upload_model.__file__).parent.parent)
REGION = "us-east-1"
#: boto3's credential chain reads these first; the config files are pointed nowhere so
#: that nothing of the machine's own AWS setup is used.
DUMMY_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DUMMY_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def held(endpoint_url: str, digests: list[str]) -> list[str]:
    """The digests among ``digests`` that BatchCheckLayerAvailability finds, through boto3."""
    client = ecr_client(endpoint_url=endpoint_url, region_name=REGION)
    answer = client.batch_check_layer_availability(repositoryName="team/app", layerDigests=digests)
    return [
        layer["layerDigest"]
        for layer in answer["layers"]
        if layer["layerAvailability"] == "AVAILABLE"
    ]


def test_a_push_through_boto3_stores_the_layer_under_its_digest() -> None:
    data = random.Random(1).randbytes(25_000)
    small_parts = Limits(min_part_bytes=1, part_size=10_000)
    with local_ecr_server("team/app", limits=small_parts) as server:
        transport = Boto3Transport(ecr_client(endpoint_url=server.url, region_name=REGION))
        digest = push_layer(transport, data, repository_name="team/app", min_part_size=1)
        assert digest == LayerDigest(sha256(data))
        assert held(server.url, [str(digest)]) == [str(digest)]
        assert server.targets[:2] == ["BatchCheckLayerAvailability", "InitiateLayerUpload"]
        assert server.targets[2:5] == ["UploadLayerPart"] * 3
        # boto3 signed every call (SigV4, the region in the credential scope).
        assert all(
            f"/{REGION}/ecr/aws4_request" in authorization
            for authorization in server.authorizations[:6]
        )


def test_throttled_calls_are_retried_through_boto3_and_the_push_completes() -> None:
    waits: list[float] = []
    data = b"throttled layer"
    with local_ecr_server("team/app", throttle_first=2) as server:
        transport = Boto3Transport(ecr_client(endpoint_url=server.url, region_name=REGION))
        digest = push_layer(
            transport,
            data,
            repository_name="team/app",
            sleep=waits.append,
            random=lambda: 0.5,
        )
        assert held(server.url, [str(digest)]) == [sha256(data)]
    # One call to the server per attempt: boto3's own retries are off.
    assert server.targets[:3] == ["BatchCheckLayerAvailability"] * 3
    assert waits == [0.5, 1.0]


def test_a_server_that_is_not_there_is_no_answer_retried_then_a_connection_error() -> None:
    with local_ecr_server() as server:
        url = server.url  # the port is free again once the server is stopped
    transport = Boto3Transport(ecr_client(endpoint_url=url, region_name=REGION))
    waits: list[float] = []
    with pytest.raises(ConnectionError, match="no answer from the registry"):
        push_layer(transport, b"x", repository_name="team/app", sleep=waits.append)
    assert len(waits) == 2


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    process = subprocess.run(
        [sys.executable, "-m", "ecr_upload_model", *arguments],
        capture_output=True,
        env={**os.environ, **DUMMY_AWS_ENVIRONMENT, "PYTHONPATH": PACKAGE_ROOT},
        check=False,
        timeout=120,
        text=True,
    )
    assert "Traceback" not in process.stderr
    return process


def test_push_command_with_endpoint_url_pushes_a_file(tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    layer.write_bytes(b"a layer for a real endpoint")
    with local_ecr_server("team/app") as server:
        result = run_cli(
            "push",
            str(layer),
            "--endpoint-url",
            server.url,
            "--region",
            REGION,
            "--repository",
            "team/app",
        )
        assert result.returncode == 0, result.stderr
        digest = sha256(layer.read_bytes())
        assert result.stdout.splitlines()[-1] == digest
        assert "InitiateLayerUpload -> 200 uploadId=" in result.stdout
        assert held(server.url, [digest]) == [digest]


def test_push_command_pushes_several_files_concurrently(tmp_path: Path) -> None:
    files = []
    for number in range(8):
        path = tmp_path / f"layer-{number}.tar"
        path.write_bytes(random.Random(number).randbytes(3_000 + number))
        files.append(path)
    with local_ecr_server("team/app") as server:
        result = run_cli(
            "push",
            *map(str, files),
            "--endpoint-url",
            server.url,
            "--repository",
            "team/app",
            "--jobs",
            "4",
            "--part-size",
            "1000",
        )
        assert result.returncode == 1, result.stderr  # parts under 5 MiB: refused at completion
        assert result.stderr.count("LayerPartTooSmallException") == 8
        result = run_cli(
            "push",
            *map(str, files),
            "--endpoint-url",
            server.url,
            "--repository",
            "team/app",
            "--jobs",
            "4",
        )
        assert result.returncode == 0, result.stderr
        digests = [sha256(path.read_bytes()) for path in files]
        assert result.stdout.splitlines()[-8:] == [
            f"{digest}  {path}" for digest, path in zip(digests, files, strict=True)
        ]
        assert sorted(held(server.url, digests)) == sorted(digests)


def test_push_command_shows_progress_bars_with_bytes_rate_and_time_left(tmp_path: Path) -> None:
    layer = tmp_path / "big.tar"
    layer.write_bytes(random.Random(2).randbytes(12_000_000))
    with local_ecr_server("team/app") as server:
        result = run_cli(
            "push",
            str(layer),
            "--endpoint-url",
            server.url,
            "--repository",
            "team/app",
            "--progress",
            "bars",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [sha256(layer.read_bytes())]
    last_bar = result.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in last_bar
    assert "11.4M/11.4M" in last_bar  # bytes, in units of 1,024
    assert "B/s" in last_bar  # the rate


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--endpoint-url", "http://127.0.0.1:9"), "--repository is required"),
        (
            ("--repository", "team/app", "--endpoint-url", "http://127.0.0.1:9", "--jobs", "0"),
            "--jobs",
        ),
        (
            (
                "--repository",
                "team/app",
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--profile",
                "nobody",
            ),
            "cannot make an ECR client",
        ),
    ],
)
def test_bad_endpoint_arguments_are_usage_errors(
    tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    layer = tmp_path / "layer"
    layer.write_bytes(b"x")
    result = run_cli("push", str(layer), *arguments)
    assert result.returncode == 2
    assert message in result.stderr
