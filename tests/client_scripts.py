"""Scripted transports for the client's tests: a registry behind them, answers put in front."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from shared_values import SMALL

from ecr_upload_model import Limits, Registry, RepositoryName
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import handle

Answer = tuple[int, Mapping[str, str], bytes]
#: Given the call (operation name, decoded body) and the registry's own answer, what the
#: client gets instead; None lets the registry's answer through.
Script = Callable[[str, dict[str, Any], Callable[[], Answer]], Answer | None]

REPOSITORY = RepositoryName("team/app")


def new_registry(limits: Limits = SMALL) -> Registry:
    registry = Registry("123456789012", limits=limits, upload_id_factory=sequential_upload_ids())
    registry.create_repository(REPOSITORY)
    return registry


def error_answer(status: int, code: str, message: str = "scripted", **members: object) -> Answer:
    """An error answer as ECR writes one, its modelled ``members`` included."""
    body = {"__type": code, "message": message, **members}
    return status, {"x-amzn-RequestId": "req-1"}, json.dumps(body).encode()


class ScriptedTransport:
    """The registry's transport, with ``script`` deciding each answer; every call kept."""

    def __init__(self, registry: Registry, script: Script) -> None:
        self.registry = registry
        self.script = script
        self.calls: list[str] = []

    def __call__(self, target: str, body: bytes) -> Answer:
        operation = target.rpartition(".")[2]
        self.calls.append(operation)
        real = functools.partial(handle, self.registry, target, body)
        answer = self.script(operation, json.loads(body), real)
        return real() if answer is None else answer


def first_calls(count: int, answer: Answer) -> Script:
    """``answer`` to the first ``count`` calls, then the registry's."""
    remaining: Iterator[int] = iter(range(count))

    def script(operation: str, body: dict[str, Any], real: Callable[[], Answer]) -> Answer | None:
        return answer if next(remaining, None) is not None else None

    return script


class FakeClock:
    """``sleep`` that records the waits and lets no time pass."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
