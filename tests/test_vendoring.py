"""The package works when vendored: copied under another package's ``_vendor/``.

A copy imported as ``host_pkg._vendor.ecr_upload_model`` must use only its own modules,
so no module of the package may import it by its absolute name (``import
ecr_upload_model``, ``from ecr_upload_model.errors import ...``): such an import would
reach the installed copy, or fail where none is installed.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ecr_upload_model

PACKAGE = "ecr_upload_model"
PACKAGE_DIR = Path(ecr_upload_model.__file__).parent
VENDORED = f"host_pkg._vendor.{PACKAGE}"


def absolute_self_imports(source: str, filename: str = "<source>") -> list[str]:
    """``file:line`` of each import of ``ecr_upload_model`` by its absolute name."""

    def is_package(name: str | None) -> bool:
        return name is not None and (name == PACKAGE or name.startswith(f"{PACKAGE}."))

    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if (isinstance(node, ast.Import) and any(is_package(a.name) for a in node.names)) or (
            isinstance(node, ast.ImportFrom) and node.level == 0 and is_package(node.module)
        ):
            found.append(f"{filename}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import ecr_upload_model", True),
        ("import os, ecr_upload_model.wire as wire", True),
        ("from ecr_upload_model import errors", True),
        ("from ecr_upload_model.errors import EcrError", True),
        ("def late():\n    from ecr_upload_model import wire", True),
        ("from . import errors", False),
        ("from .errors import EcrError", False),
        ("import ecr_upload_model_extra", False),
        ("from ecr_upload_model_extra import x", False),
    ],
)
def test_scan_finds_absolute_self_imports(source: str, found: bool) -> None:
    assert bool(absolute_self_imports(source)) is found


def test_no_module_imports_the_package_by_its_absolute_name() -> None:
    modules = sorted(PACKAGE_DIR.rglob("*.py"))
    assert PACKAGE_DIR / "session.py" in modules
    found = [
        hit
        for module in modules
        for hit in absolute_self_imports(module.read_text(encoding="utf-8"), str(module))
    ]
    assert found == [], "absolute self-imports break a vendored copy: " + ", ".join(found)


# Runs in a fresh interpreter whose working directory holds host_pkg; the installed
# ecr_upload_model is importable too. Prints what it saw as JSON.
PUSH_THROUGH_VENDORED_COPY = """
import base64, hashlib, importlib, json, pkgutil, sys

def absolute_modules():
    return sorted(name for name in sys.modules if name.split(".")[0] == "ecr_upload_model")

import host_pkg._vendor.ecr_upload_model as vendored
seen = {"after_import": absolute_modules()}
# Every module but __main__ (which runs the command line when imported).
for info in pkgutil.walk_packages(vendored.__path__, vendored.__name__ + "."):
    if not info.name.endswith(".__main__"):
        importlib.import_module(info.name)
seen["after_every_module"] = absolute_modules()

from host_pkg._vendor.ecr_upload_model import Limits, Registry, wire
registry = Registry("123456789012", limits=Limits(min_part_bytes=512, part_size=512))
registry.create_repository("team/app")
def call(operation, body):
    status, _, answer = wire.handle(
        registry, f"{wire.TARGET_PREFIX}.{operation}", json.dumps(body).encode())
    return [status, json.loads(answer)]
layer = bytes(range(256)) * 4
digest = "sha256:" + hashlib.sha256(layer).hexdigest()
_, started = call("InitiateLayerUpload", {"repositoryName": "team/app"})
upload = {"repositoryName": "team/app", "uploadId": started["uploadId"]}
size = started["partSize"]
parts = [(0, layer[:size]), (size, layer[size:]), (size, layer[size:])]  # the last re-sent
seen["answers"] = [
    call("UploadLayerPart", {**upload, "partFirstByte": first,
                             "partLastByte": first + len(blob) - 1,
                             "layerPartBlob": base64.b64encode(blob).decode()})
    for first, blob in parts
] + [
    call("CompleteLayerUpload", {**upload, "layerDigests": [digest]}),
    call("BatchCheckLayerAvailability", {"repositoryName": "team/app", "layerDigests": [digest]}),
]
seen["digest"] = digest
seen["after_push"] = absolute_modules()
seen["vendored_files"] = {
    name: module.__file__ for name, module in sorted(sys.modules.items())
    if name.split(".")[:3] == ["host_pkg", "_vendor", "ecr_upload_model"]
}

import ecr_upload_model as installed
seen["installed_file"] = installed.__file__
seen["same_package"] = installed is vendored
seen["same_session_class"] = installed.UploadSession is vendored.UploadSession
seen["vendored_error_is_installed_error"] = issubclass(
    vendored.InvalidLayerPartException, installed.EcrError)
print(json.dumps(seen))
"""


def test_vendored_copy_pushes_a_layer_with_its_own_modules_only(tmp_path: Path) -> None:
    vendor = tmp_path / "host_pkg" / "_vendor"
    vendor.mkdir(parents=True)
    (tmp_path / "host_pkg" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    shutil.copytree(PACKAGE_DIR, vendor / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    # The child finds the installed copy where this process found it.
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR.parent)}

    result = subprocess.run(
        [sys.executable, "-c", PUSH_THROUGH_VENDORED_COPY],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    # Importing the vendored copy, all of it, and pushing through it never touched
    # the installed copy.
    assert seen["after_import"] == seen["after_every_module"] == seen["after_push"] == []
    vendored_files = {Path(file).resolve() for file in seen["vendored_files"].values()}
    assert all(file.is_relative_to(vendor.resolve()) for file in vendored_files)
    for module in ("session", "registry", "wire", "operations", "errors"):
        assert f"{VENDORED}.{module}" in seen["vendored_files"]
    # The push went through: two parts, the re-sent one refused, completed, available.
    accepted_part, last_part, resent_part, completed, available = seen["answers"]
    assert [accepted_part[0], last_part[0], completed[0], available[0]] == [200] * 4
    assert last_part[1]["lastByteReceived"] == 1023
    assert resent_part == [
        400,
        {**resent_part[1], "__type": "InvalidLayerPartException", "lastValidByteReceived": 1023},
    ]
    assert completed[1]["layerDigest"] == seen["digest"]
    assert available[1]["layers"][0]["layerAvailability"] == "AVAILABLE"
    # Beside it, the installed copy is another package, from another place.
    assert Path(seen["installed_file"]).resolve() == PACKAGE_DIR.resolve() / "__init__.py"
    assert not seen["same_package"]
    assert not seen["same_session_class"]
    assert not seen["vendored_error_is_installed_error"]
