"""The command line, run as a user runs it: ``python -m ecr_upload_model`` in a subprocess."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ecr_upload_model
from ecr_upload_model.limits import API_MAX_PART_BYTES

EXAMPLE_TRACE = Path(__file__).parent / "data" / "push-trace.jsonl"
#: The directory that holds the package these tests import: the subprocess runs it too.
PACKAGE_ROOT = str(Path(ecr_upload_model.__file__).parent.parent)
UPLOAD_0 = "00000000-0000-0000-0000-000000000000"


def run(*arguments: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """Runs the command line; a traceback on stderr fails the test whatever the exit code."""
    process = subprocess.run(
        [sys.executable, "-m", "ecr_upload_model", *arguments],
        input=stdin,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
        check=False,
        timeout=120,
    )
    result = subprocess.CompletedProcess(
        process.args, process.returncode, process.stdout.decode(), process.stderr.decode()
    )
    assert "Traceback" not in result.stderr
    return result


def answers(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(line) == {"status", "body"} for line in lines)
    return lines


def code(answer: dict[str, object]) -> object:
    """The answer's status and error code (``__type``), or its status and "ok"."""
    body = answer["body"]
    assert isinstance(body, dict)
    return answer["status"], body.get("__type", "ok")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------
# --help


def test_help_lists_the_commands_and_each_command_explains_itself() -> None:
    top = run("--help")
    assert top.returncode == 0
    assert "replay" in top.stdout
    assert "push" in top.stdout
    replay = run("replay", "--help")
    assert replay.returncode == 0
    for option in ("FILE", "--repository", "--deterministic-ids", "--registry-id", "target"):
        assert option in replay.stdout
    push = run("push", "--help")
    assert push.returncode == 0
    for option in ("FILE", "--size", "--part-size", "--repository", str(API_MAX_PART_BYTES)):
        assert option in push.stdout


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.returncode == 2
    assert "usage:" in result.stderr


# ---------------------------------------------------------------------------------------
# replay


def test_replay_of_the_example_trace_answers_each_call_by_ecr_rules() -> None:
    # The README's and the nox demo's command.
    result = run("replay", str(EXAMPLE_TRACE), "--repository", "team/app", "--deterministic-ids")
    lines = answers(result)
    assert [code(line) for line in lines] == [
        (200, "ok"),  # BatchCheck: not held yet
        (200, "ok"),  # InitiateLayerUpload
        (400, "EmptyUploadException"),
        (400, "InvalidLayerPartException"),  # first part not at byte 0
        (200, "ok"),  # bytes 0-5
        (400, "InvalidLayerPartException"),  # the same part again
        (200, "ok"),  # bytes 6-10
        (400, "LayerPartTooSmallException"),
        (200, "ok"),  # a second upload
        (400, "InvalidLayerPartException"),  # blob length not the range's
        (200, "ok"),  # bytes 0-10
        (400, "InvalidLayerException"),
        (200, "ok"),  # completed
        (400, "UploadNotFoundException"),
        (200, "ok"),  # BatchCheck: held now
        (400, "RepositoryNotFoundException"),
        (400, "SerializationException"),  # a line that is not JSON
    ]
    bodies = [line["body"] for line in lines]
    layer = sha256(b"hello layer")
    assert bodies[0] == {
        "layers": [],
        "failures": [
            {
                "layerDigest": layer,
                "failureCode": "MissingLayerDigest",
                "failureReason": bodies[0]["failures"][0]["failureReason"],  # type: ignore[index]
            }
        ],
    }
    assert bodies[1] == {"uploadId": UPLOAD_0, "partSize": 10_485_760}
    assert "lastValidByteReceived" not in bodies[3]  # type: ignore[operator]
    assert bodies[5]["lastValidByteReceived"] == 5  # type: ignore[index]
    assert bodies[6]["lastByteReceived"] == 10  # type: ignore[index]
    assert bodies[12]["layerDigest"] == layer  # type: ignore[index]
    assert bodies[14]["layers"] == [  # type: ignore[index]
        {"layerDigest": layer, "layerAvailability": "AVAILABLE", "layerSize": 11}
    ]


def trace(*calls: object) -> bytes:
    return b"".join(
        (call if isinstance(call, bytes) else json.dumps(call).encode()) + b"\n" for call in calls
    )


def test_replay_reads_stdin_answers_bad_lines_as_a_server_would_and_goes_on() -> None:
    initiate = {"target": "InitiateLayerUpload", "body": {"repositoryName": "team/app"}}
    stdin = trace(
        b"not json",
        b"\xff\xfe not utf-8",
        {"body": {"repositoryName": "team/app"}},  # no target
        {"target": "InitiateLayerUpload"},  # no body
        [1, 2],  # not an object
        {"target": "InitiateLayerUpload", "body": [1]},  # a body that is not an object
        {"target": "PutImage", "body": {}},
        b"   ",  # blank lines are skipped
        {"target": "AmazonEC2ContainerRegistry_V20150921.InitiateLayerUpload", "body": {}},
        initiate,
    )
    result = run("replay", "-", "--repository", "team/app", "--deterministic-ids", stdin=stdin)
    assert [code(line) for line in answers(result)] == [
        *[(400, "SerializationException")] * 6,
        (400, "UnknownOperationException"),
        (400, "InvalidParameterException"),  # the full target works; repositoryName missing
        (200, "ok"),
    ]


def test_replay_without_repositories_finds_none() -> None:
    stdin = trace({"target": "InitiateLayerUpload", "body": {"repositoryName": "team/app"}})
    assert [code(line) for line in answers(run("replay", "-", stdin=stdin))] == [
        (400, "RepositoryNotFoundException")
    ]


def test_replay_knows_only_the_registry_id_it_is_given() -> None:
    def initiate(registry_id: str) -> dict[str, object]:
        body = {"registryId": registry_id, "repositoryName": "team/app"}
        return {"target": "InitiateLayerUpload", "body": body}

    result = run(
        "replay",
        "-",
        "--registry-id",
        "210987654321",
        "--repository",
        "team/app",
        stdin=trace(initiate("210987654321"), initiate("123456789012")),
    )
    assert [code(line) for line in answers(result)] == [
        (200, "ok"),
        (400, "RepositoryNotFoundException"),
    ]


def test_deterministic_ids_make_a_replay_repeatable_and_random_ids_differ() -> None:
    stdin = trace({"target": "InitiateLayerUpload", "body": {"repositoryName": "team/app"}})
    options = ("replay", "-", "--repository", "team/app")
    deterministic = [run(*options, "--deterministic-ids", stdin=stdin).stdout for _ in range(2)]
    assert deterministic[0] == deterministic[1]
    assert UPLOAD_0 in deterministic[0]
    random_ids = {run(*options, stdin=stdin).stdout for _ in range(2)}
    assert len(random_ids) == 2


def test_replayed_part_bytes_make_the_layer_the_registry_stores(tmp_path: Path) -> None:
    data = bytes(range(256)) * 3
    upload = {"repositoryName": "team/app", "uploadId": UPLOAD_0}
    stdin = trace(
        {"target": "InitiateLayerUpload", "body": {"repositoryName": "team/app"}},
        {
            "target": "UploadLayerPart",
            "body": {
                **upload,
                "partFirstByte": 0,
                "partLastByte": len(data) - 1,
                "layerPartBlob": base64.b64encode(data).decode(),
            },
        },
        {"target": "CompleteLayerUpload", "body": {**upload, "layerDigests": [sha256(data)]}},
    )
    path = tmp_path / "trace.jsonl"
    path.write_bytes(stdin)
    lines = answers(run("replay", str(path), "--repository", "team/app", "--deterministic-ids"))
    assert lines[-1]["body"]["layerDigest"] == sha256(data)  # type: ignore[index]


# ---------------------------------------------------------------------------------------
# push


def test_push_of_a_file_shows_each_call_and_ends_with_the_layer_digest(tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    layer.write_bytes(b"a small layer")
    result = run("push", str(layer), "--deterministic-ids")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "BatchCheckLayerAvailability -> 200 MissingLayerDigest",
        f"InitiateLayerUpload -> 200 uploadId={UPLOAD_0} partSize=10485760",
        "UploadLayerPart bytes 0-12 -> 200 lastByteReceived=12",
        f"CompleteLayerUpload -> 200 layerDigest={sha256(b'a small layer')}",
        sha256(b"a small layer"),
    ]


def test_push_reads_the_layer_from_stdin() -> None:
    result = run("push", "-", stdin=b"from stdin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == sha256(b"from stdin")


def test_push_of_a_large_generated_layer_shows_progress_after_each_part() -> None:
    result = run("push", "--size", "12000000", "--repository", "team/big")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    parts = [line for line in lines if line.startswith("UploadLayerPart")]
    assert parts == [
        "UploadLayerPart bytes 0-10485759 -> 200 lastByteReceived=10485759",
        "UploadLayerPart bytes 10485760-11999999 -> 200 lastByteReceived=11999999",
    ]
    assert [line for line in lines if line.startswith("progress")] == [
        "progress: 10485760 of 12000000 bytes (87%)",
        "progress: 12000000 of 12000000 bytes (100%)",
    ]
    assert lines[-2] == f"CompleteLayerUpload -> 200 layerDigest={lines[-1]}"


def test_a_generated_layer_is_the_same_on_every_run() -> None:
    digests = {run("push", "--size", "1000").stdout.splitlines()[-1] for _ in range(2)}
    assert len(digests) == 1
    assert digests.pop().startswith("sha256:")


def test_part_size_sets_the_parts_the_push_sends() -> None:
    result = run("push", "--size", "6000000", "--part-size", "5242880")
    assert result.returncode == 0, result.stderr
    parts = [line.split(" -> ")[0] for line in result.stdout.splitlines() if "LayerPart " in line]
    assert parts == ["UploadLayerPart bytes 0-5242879", "UploadLayerPart bytes 5242880-5999999"]


def test_push_with_parts_under_5_mib_fails_with_exit_1_and_the_ecr_error() -> None:
    result = run("push", "--size", "20", "--part-size", "10")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "CompleteLayerUpload -> 400 LayerPartTooSmallException"
    assert "LayerPartTooSmallException" in result.stderr


def test_push_of_an_empty_layer_fails_with_empty_upload(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    result = run("push", str(empty))
    assert result.returncode == 1
    assert "EmptyUploadException" in result.stderr
    assert "UploadLayerPart" not in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("push", "{missing}"), "No such file"),
        (("push", "{directory}"), "Is a directory"),
        (("replay", "{missing}"), "No such file"),
        (("push",), "one of the arguments FILE --size is required"),
        (("push", "{directory}", "--size", "5"), "not allowed with"),
        (("push", "--size", "-1"), "--size"),
        (("push", "--size", "lots"), "--size"),
        (("push", "--size", "5", "--part-size", "0"), "--part-size"),
        (("push", "--size", "5", "--part-size", str(API_MAX_PART_BYTES + 1)), "--part-size"),
        (("push", "--size", "5", "--repository", "Team/App"), "repositoryName"),
        (("replay", "-", "--repository", "a"), "repositoryName"),
        (("replay", "-", "--registry-id", "1234"), "registryId"),
    ],
)
def test_bad_input_is_a_usage_error_with_exit_2_and_a_message(
    tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    paths = {"missing": str(tmp_path / "missing.jsonl"), "directory": str(tmp_path)}
    result = run(*(argument.format(**paths) for argument in arguments))
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "error:" in result.stderr
