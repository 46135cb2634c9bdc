"""``nox -s serve_bench``: a boto3 push into ``serve`` beside a floor and the peers.

Each server runs in its own process on 127.0.0.1; the client is boto3 in this process.

1. One 100 MiB layer in 10 MiB parts, the candidates in turn, round after round (a new
   layer each round, the same for every candidate); the median time of each and its
   ratio to (a) the floor, a server that only reads each body and answers a fixed reply
   (the client's own cost), and to (c) moto's server.
   Also waitress around the same application (the other pure-Python candidate).
   Targets: serve at most 1.5 times the floor and at most 0.5 times moto.
2. Eight pushes of 20 MiB layers at once into ``serve``, each from a process of its own
   (eight boto3 threads in one process are bound by that process's GIL, not by the
   server): the aggregate MiB/s against one push.
3. The memory of the ``serve`` process during one 20 MiB part: its peak RSS over its RSS
   before (target: the part and its body, plus a bounded constant).

``--rounds N`` (default 5); ``--quick`` for a 20 MiB layer and one round.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

MIB = 1024 * 1024
PART = 10 * MIB
REPOSITORY = "team/app"
UPLOAD_ID = "0a1b2c3d-0000-4000-8000-000000000000"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


# ---------------------------------------------------------------------------------------
# The servers that are not `serve` (run by this script in a process of their own)


class _Floor(BaseHTTPRequestHandler):
    """Reads the body, answers a fixed reply that boto3 reads without complaint."""

    protocol_version = "HTTP/1.1"
    # The reply's headers and body go out in two writes: with Nagle's algorithm on, the
    # second waits for the client's delayed ACK (40 ms a call), which is no client cost.
    disable_nagle_algorithm = True
    REPLIES: ClassVar[dict[str, dict[str, object]]] = {
        "InitiateLayerUpload": {"uploadId": UPLOAD_ID, "partSize": PART},
        "UploadLayerPart": {"uploadId": UPLOAD_ID, "lastByteReceived": 0},
        "CompleteLayerUpload": {"uploadId": UPLOAD_ID, "layerDigest": "sha256:00"},
        "CreateRepository": {},
    }

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        target = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        body = json.dumps(self.REPLIES.get(target, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def run_floor() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Floor)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def run_waitress() -> None:
    import waitress.server

    from ecr_upload_model import Registry
    from ecr_upload_model.server.app import make_app

    registry = Registry("123456789012")
    registry.create_repository(REPOSITORY)
    server = waitress.server.create_server(
        make_app(registry), host="127.0.0.1", port=0, threads=16, max_request_body_size=64 * MIB
    )
    print(f"listening on http://127.0.0.1:{server.effective_port}", flush=True)
    server.run()


# ---------------------------------------------------------------------------------------
# Candidates


def _started(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"{command}: {line!r}")
    return process, line.split()[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _moto() -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tempfile.gettempdir(), "moto_server.log"), "w"),  # noqa: SIM115
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:  # moto prints nothing when ready: wait for its port to answer
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def servers(data: str) -> Iterator[dict[str, tuple[subprocess.Popen[str], str]]]:
    me = [sys.executable, __file__]
    started = {
        "floor (reads the body)": _started([*me, "--run", "floor"]),
        "serve": _started(
            [
                sys.executable,
                "-m",
                "ecr_upload_model",
                "serve",
                "--port",
                "0",
                "--data",
                data,
                "--repository",
                REPOSITORY,
            ]
        ),
        "waitress around make_app": _started([*me, "--run", "waitress"]),
        "moto_server": _moto(),
    }
    try:
        yield started
    finally:
        for process, _ in started.values():
            process.terminate()
            process.wait(timeout=60)


def client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ecr",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=16),
    )


def push(ecr: Any, layer: bytes, repository: str = REPOSITORY) -> None:
    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    for first in range(0, len(layer), PART):
        last = min(first + PART, len(layer)) - 1
        ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=last,
            layerPartBlob=layer[first : last + 1],
        )
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    ecr.complete_layer_upload(repositoryName=repository, uploadId=upload_id, layerDigests=[digest])


def _push_at_start(url: str, seed: int, start: Any) -> None:
    """A pusher process: its client and layer made, it waits for the start, then pushes."""
    os.environ.update(ENVIRONMENT)
    ecr = client(url)
    layer = random.Random(seed).randbytes(20 * MIB)
    start.wait()
    push(ecr, layer)


def eight_at_once(url: str, seeds: range) -> float:
    """Seconds from the start to the last of eight pushes, each from its own process."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(seeds) + 1)
    pushers = [context.Process(target=_push_at_start, args=(url, seed, start)) for seed in seeds]
    for pusher in pushers:
        pusher.start()
    start.wait()
    began = time.perf_counter()
    for pusher in pushers:
        pusher.join()
    elapsed = time.perf_counter() - began
    if any(pusher.exitcode for pusher in pushers):
        raise SystemExit("a pusher failed")
    return elapsed


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _rss(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", choices=["floor", "waitress"], help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    if arguments.run == "floor":
        run_floor()
        return
    if arguments.run == "waitress":
        run_waitress()
        return
    os.environ.update(ENVIRONMENT)
    size = 20 * MIB if arguments.quick else 100 * MIB
    rounds = 1 if arguments.quick else arguments.rounds
    with tempfile.TemporaryDirectory() as data, servers(data) as started:
        clients = {name: client(url) for name, (_, url) in started.items()}
        clients["moto_server"].create_repository(repositoryName=REPOSITORY)
        for ecr in clients.values():
            push(ecr, random.Random(-1).randbytes(PART))  # warm: connections, first imports
        times: dict[str, list[float]] = {name: [] for name in clients}
        names = list(clients)
        for round_number in range(rounds):
            # A new layer each round, as a real push is: its completion makes a new layer.
            layer = random.Random(round_number).randbytes(size)
            for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
                times[name].append(timed(lambda ecr=clients[name], layer=layer: push(ecr, layer)))
        median = {name: statistics.median(values) for name, values in times.items()}
        floor, moto = median["floor (reads the body)"], median["moto_server"]
        print(f"1. One {size // MIB} MiB push in 10 MiB parts with boto3 ({rounds} rounds, median)")
        print(f"   {'server':<28} {'seconds':>8} {'x floor':>8} {'x moto':>8}")
        for name, seconds in median.items():
            print(f"   {name:<28} {seconds:8.2f} {seconds / floor:8.2f} {seconds / moto:8.2f}")

        serve_process, serve_url = started["serve"]
        # Layers no round pushed (seeds -2 to -10): one alone, then eight at once.
        alone = random.Random(-2).randbytes(20 * MIB)
        single = client(serve_url)  # made before the clock starts, as the eight are
        one = timed(lambda: push(single, alone))
        together = eight_at_once(serve_url, seeds=range(-3, -11, -1))
        print("2. Pushes of 20 MiB layers into serve")
        print(f"   one push:        {20 / one:8.1f} MiB/s")
        print(
            f"   8 at once:       {8 * 20 / together:8.1f} MiB/s aggregate, 8 processes "
            f"({8 * 20 / together / (20 / one):.2f} x one)"
        )

        pid = serve_process.pid
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")  # the peak RSS starts again from the RSS now
        before = _rss(pid, "VmRSS")
        part = random.Random(99).randbytes(20 * MIB)
        ecr = clients["serve"]
        upload_id = ecr.initiate_layer_upload(repositoryName=REPOSITORY)["uploadId"]
        ecr.upload_layer_part(
            repositoryName=REPOSITORY,
            uploadId=upload_id,
            partFirstByte=0,
            partLastByte=len(part) - 1,
            layerPartBlob=part,
        )
        peak = _rss(pid, "VmHWM")
        body = 4 * -(-len(part) // 3)
        print("3. serve's memory during one 20 MiB part")
        print(
            f"   RSS before {before / MIB:.1f} MiB, peak {peak / MIB:.1f} MiB: "
            f"+{(peak - before) / MIB:.1f} MiB for a {len(part) / MIB:.0f} MiB part in a "
            f"{body / MIB:.1f} MiB body (part + body = {(len(part) + body) / MIB:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
