"""A call sequence whose last answers differ, written for a person."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final

from .answers import Aliases, Answer, Side
from .calls import Step

#: Bytes of a blob shown in a report.
SHOWN_BLOB_BYTES: Final = 8


def report(
    steps: Sequence[Step],
    answers: Sequence[tuple[Answer, Answer]],
    aliases: Aliases,
    resolve: Callable[[object], object],
) -> str:
    """Every call with both answers, the last (where they differ) marked ``>>``.

    ``resolve`` shows a reference of a request (a repository's role, an upload's
    ordinal) as the run named it.
    """
    lines = [
        f"The server's answer differs from the reference registry's at call "
        f"{len(steps)} of this sequence, the shortest found. <upload N> stands for "
        "the id each side gave the Nth upload; messages are shown, not compared.",
    ]
    for number, (step, (server, reference)) in enumerate(zip(steps, answers, strict=True), 1):
        marker = ">>" if number == len(steps) else "  "
        lines.append(f"{marker} {number}. {render(step, resolve)}")
        lines.append(f"       server:    {server.summary(Side.SERVER, aliases)}")
        lines.append(f"       reference: {reference.summary(Side.REFERENCE, aliases)}")
    return "\n".join(lines)


def render(step: Step, resolve: Callable[[object], object]) -> str:
    """The operation and its request, blobs shortened."""

    def shown(value: object) -> object:
        if isinstance(value, bytes):
            head = value[:SHOWN_BLOB_BYTES].hex()
            more = "..." if len(value) > SHOWN_BLOB_BYTES else ""
            return f"<{len(value)} bytes 0x{head}{more}>"
        return resolve(value)

    request = {name: shown(value) for name, value in step.request.items()}
    return f"{step.operation} {json.dumps(request)}"
