"""``python -m ecr_upload_model serve`` as a subprocess on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

#: boto3's and the AWS CLI's credential chain reads these first; the config files are
#: pointed nowhere so that nothing of the machine's own AWS setup is used.
DUMMY_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
LISTENING = "listening on "


@attrs.frozen
class Served:
    url: str
    process: subprocess.Popen[str]

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@contextmanager
def serving(data: Path, *arguments: str) -> Iterator[Served]:
    """A ``serve`` subprocess; on exit it is stopped with SIGTERM and must exit 0."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecr_upload_model",
            "serve",
            "--port",
            "0",
            "--data",
            str(data),
            *arguments,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        process.kill()
        _, errors = process.communicate(timeout=30)
        raise AssertionError(f"serve did not start: {line!r} {errors}")
    served = Served(line[len(LISTENING) :].strip(), process)
    try:
        yield served
    finally:
        if process.poll() is None:
            code = served.stop()
            assert code == 0, process.stderr.read() if process.stderr else code
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
