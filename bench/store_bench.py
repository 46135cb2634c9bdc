"""The stores' cost per part and per completion (``nox -s store_bench``).

1. Parts: 10 MiB parts (ECR's part size) through ``Registry.upload_layer_part`` over
   MemoryStore, SqliteFileStore and RedisFileStore, each appending to an upload of its
   own, against two floors timed in the same rounds: ``sha256`` of the part (all the
   memory store must do) and ``sha256`` plus writing the part to a new file with
   ``fsync`` of the file and of its directory, its cached pages then dropped as the
   stores drop them (all a durable store must do before it answers). Every round sends
   one part through each candidate in turn, the order rotating; the table gives the
   median per part, parts/s, MiB/s and the ratio to the durable floor. Target: a
   durable store within about one small transaction of it.
2. Completions: a layer of ten 10 MiB parts completed (its part files linked into a
   new directory, synced and renamed into place, then the transaction), with the
   running digest in memory, and again after a restart (the digest read back from the
   files); a one-part layer. Each the median of a few layers.

The data directory is a new temporary one (``--dir`` puts it elsewhere: the disk is
what is measured). Redis is a ``redis-server`` from PATH started on a free loopback port
without persistence (``--redis URL`` uses another); without either, its rows are left out.

Usage: ``python bench/store_bench.py [--quick] [--dir DIR] [--redis URL]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from _report import human, print_table

from ecr_upload_model import (
    API_LIMITS,
    CompleteLayerUploadRequest,
    InitiateLayerUploadRequest,
    LayerDigest,
    Registry,
    RepositoryName,
    UploadId,
    UploadLayerPartRequest,
)
from ecr_upload_model.registry import MemoryStore, RegistryStore
from ecr_upload_model.server.stores import open_store

MIB = 1024 * 1024
PART_BYTES = API_LIMITS.part_size  # 10 MiB, ECR's
REPOSITORY = RepositoryName("bench/layers")
Store = Callable[[], RegistryStore]


def machine(directory: Path) -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        model = next(
            (line.partition(":")[2].strip() for line in cpuinfo if line.startswith("model name")),
            model,
        )
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"data directory {directory}"
    )


# ---------------------------------------------------------------------------------------
# Redis


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str | None]:
    """The Redis to use: ``url``, else a redis-server of our own, else None."""
    executable = shutil.which("redis-server")
    if url is not None or executable is None:
        yield url
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen(
            [
                executable,
                *("--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            import redis  # noqa: PLC0415  # the `server` extra's, needed here only

            client = redis.Redis(host="127.0.0.1", port=port)
            for _ in range(200):
                with contextlib.suppress(redis.ConnectionError):
                    client.ping()
                    break
                time.sleep(0.05)  # the server starting up
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait()


# ---------------------------------------------------------------------------------------
# 1. Parts


class Upload:
    """One upload in progress through a registry: the next part goes after the last."""

    def __init__(self, store: RegistryStore) -> None:
        self.registry = Registry("123456789012", store=store)
        self.registry.create_repository(REPOSITORY)
        answer = self.registry.initiate_layer_upload(
            InitiateLayerUploadRequest(repository_name=REPOSITORY)
        )
        self.upload_id: UploadId = answer.upload_id
        self.next_byte = 0
        self.hasher = hashlib.sha256()

    def sending(self, part: bytes) -> Callable[[], object]:
        """The call that sends ``part`` next (what is timed), its request made already."""
        next_part = request(self.upload_id, self.next_byte, part)
        self.next_byte += len(part)
        self.hasher.update(part)
        return lambda: self.registry.upload_layer_part(next_part)

    def complete(self) -> None:
        digest = LayerDigest.sha256(self.hasher.hexdigest())
        done = self.registry.complete_layer_upload(
            CompleteLayerUploadRequest(
                repository_name=REPOSITORY, upload_id=self.upload_id, layer_digests=(digest,)
            )
        )
        assert done.layer_digest == digest


def request(upload_id: UploadId, first_byte: int, part: bytes) -> UploadLayerPartRequest:
    return UploadLayerPartRequest(
        repository_name=REPOSITORY,
        upload_id=upload_id,
        part_first_byte=first_byte,
        part_last_byte=first_byte + len(part) - 1,
        layer_part_blob=part,
    )


def hashing(part: bytes) -> Callable[[], object]:
    return lambda: hashlib.sha256(part).digest()


def durable_floor(directory: Path) -> Callable[[bytes], Callable[[], object]]:
    """sha256, and the part in a new file, synced with its directory, its cached pages
    dropped."""
    directory.mkdir()
    numbers = itertools.count()

    def writing_and_hashing(part: bytes) -> Callable[[], object]:
        path = directory / f"{next(numbers)}.part"

        def write_and_hash() -> None:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(descriptor, part)
                os.fsync(descriptor)
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)
            directory_descriptor = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(directory_descriptor)
            finally:
                os.close(directory_descriptor)
            hashlib.sha256(part).digest()

        return write_and_hash

    return writing_and_hashing


def bench_parts(stores: dict[str, Store], directory: Path, rounds: int) -> None:
    uploads = {name: Upload(open_one()) for name, open_one in stores.items()}
    candidates: dict[str, Callable[[bytes], Callable[[], object]]] = {
        "floor: sha256": hashing,
        "floor: write + fsync + sha256": durable_floor(directory / "floor"),
        **{name: upload.sending for name, upload in uploads.items()},
    }
    names = list(candidates)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in [*names[shift:], *names[:shift]]:
            call = candidates[name](os.urandom(PART_BYTES))
            start = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(times) for name, times in samples.items()}
    baseline = medians["floor: write + fsync + sha256"]
    print_table(
        f"1. One {PART_BYTES:,}-byte part through Registry.upload_layer_part "
        f"(median of {rounds} rounds)",
        ["candidate", "median per part", "parts/s", "MiB/s", "ratio to the durable floor"],
        [
            [
                name,
                human(median),
                f"{1 / median:.1f}",
                f"{PART_BYTES / MIB / median:.0f}",
                f"{median / baseline:.2f}",
            ]
            for name, median in medians.items()
        ],
    )


# ---------------------------------------------------------------------------------------
# 2. Completions


def timed_completion(open_store_: Store, parts: int, *, restart: bool) -> float:
    store = open_store_()
    upload = Upload(store)
    for _ in range(parts):
        upload.sending(os.urandom(PART_BYTES))()
    if restart:  # a new process: the running digest is gone, the files are not
        close(store)
        store = open_store_()
        upload.registry = Registry("123456789012", store=store)
    start = time.perf_counter()
    upload.complete()
    elapsed = time.perf_counter() - start
    close(store)
    return elapsed


def close(store: RegistryStore) -> None:
    closing = getattr(store, "close", None)
    if closing is not None:
        closing()


def bench_completions(stores: dict[str, Store], layers: int, parts: int) -> None:
    rows = []
    for name, open_one in stores.items():
        cases = [(f"{parts} parts", parts, False), ("1 part", 1, False)]
        if name != "MemoryStore":
            cases.insert(1, (f"{parts} parts, after a restart", parts, True))
        for case, count, restart in cases:
            times = [timed_completion(open_one, count, restart=restart) for _ in range(layers)]
            size = count * PART_BYTES
            median = statistics.median(times)
            rows.append([name, case, human(median), f"{size / MIB / median:.0f}"])
    print_table(
        f"2. CompleteLayerUpload of a layer of 10 MiB parts (median of {layers} layers)",
        ["store", "layer", "median per completion", "MiB/s"],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--dir", type=Path, help="where the data directories go")
    parser.add_argument("--redis", help="a Redis URL (default: a redis-server of our own)")
    arguments = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(dir=arguments.dir) as temporary,
        redis_server(arguments.redis) as redis_url,
    ):
        directory = Path(temporary)
        print(f"Machine: {machine(directory)}")
        print(f"Command: {' '.join(['python', *sys.argv])}")
        memory = MemoryStore()
        stores: dict[str, Store] = {
            "MemoryStore": lambda: memory,
            "SqliteFileStore": lambda: open_store(directory / "sqlite", None),
        }
        if redis_url is None:
            print("\n(no redis-server on PATH and no --redis: RedisFileStore left out)")
        else:
            stores["RedisFileStore"] = lambda: open_store(directory / "redis", redis_url)
        bench_parts(stores, directory, 5 if arguments.quick else 21)
        bench_completions(stores, 1 if arguments.quick else 3, 3 if arguments.quick else 10)


if __name__ == "__main__":
    main()
