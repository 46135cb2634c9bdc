"""Runs AWS CLI commands one after another in this one process (the CLI's own driver,
as ``aws`` runs it), so that a test pays for the CLI's start once.

Each line of stdin is a JSON list of arguments (``["ecr", "create-repository", ...]``);
each is answered on stdout by one line ``{"code": exit code, "stdout": ..., "stderr": ...}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver


def run(arguments: list[str]) -> dict[str, object]:
    out, err = io.TextIOWrapper(io.BytesIO()), io.TextIOWrapper(io.BytesIO())
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = create_clidriver().main(arguments)
    texts = []
    for stream in (out, err):
        stream.flush()
        assert isinstance(stream.buffer, io.BytesIO)
        texts.append(stream.buffer.getvalue().decode())
    return {"code": code, "stdout": texts[0], "stderr": texts[1]}


if __name__ == "__main__":
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line))), flush=True)
