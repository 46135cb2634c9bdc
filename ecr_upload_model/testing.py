"""A differential tester for ECR-compatible servers: your server against the reference.

:func:`compare_with_reference` drives your server and the reference :class:`Registry`
(through :func:`~ecr_upload_model.wire.handle`) with the same generated layer pushes, a
Hypothesis stateful test with faults put in (:class:`Fault`), and compares every answer:
the HTTP status, the content type, the error code (``__type`` as botocore reads it) and
the modelled members. What may honestly differ is not compared: upload ids and the
registry id (each of the server's is mapped to the reference's), messages, request ids,
other headers, member order, the order of BatchCheckLayerAvailability's lists,
``failureReason`` wording and ``mediaType`` (an image manifest decides it, and this
model has none).

When an answer differs, Hypothesis shrinks the pushes, the tester then drops every call
it can while the difference stays, and an ``AssertionError`` lists that shortest call
sequence with both answers to each call, marking the call where they differ. The server
is any callable ``(target, body) -> (status, headers, body)``:

>>> from hypothesis import settings
>>> from ecr_upload_model import Registry
>>> from ecr_upload_model.wire import handle
>>> registry = Registry("210987654321")  # the server under test: here, the package's own
>>> compare_with_reference(
...     lambda target, body: handle(registry, target, body),
...     create_repository=registry.create_repository,
...     settings=settings(max_examples=5, stateful_step_count=5, database=None),
... )

Hypothesis is an optional dependency of the package; this module needs it.
"""

from __future__ import annotations

try:
    import hypothesis
    from hypothesis.stateful import run_state_machine_as_test as _run_state_machine_as_test
except ImportError as missing:  # pragma: no cover (tested in a subprocess)
    raise ImportError(
        "ecr_upload_model.testing needs Hypothesis, an optional dependency: "
        "pip install 'ecr_upload_model[hypothesis]'"
    ) from missing

import itertools
import json
from collections.abc import Callable, Collection
from typing import Final

from ._differential.calls import Config
from ._differential.machine import machine_class
from ._differential.runner import Difference, Run, Server, shortest
from ._faults import Fault
from .errors import UsageError
from .identifiers import RepositoryGrammar
from .limits import API_LIMITS, Limits
from .operations import TARGET_PREFIX

__all__ = ["ALL_FAULTS", "Fault", "Server", "compare_with_reference"]

#: Every fault of the catalogue: what :func:`compare_with_reference` puts in by default.
ALL_FAULTS: Final = frozenset(Fault)


def compare_with_reference(
    server: Server,
    create_repository: Callable[[str], object] | None = None,
    *,
    limits: Limits = API_LIMITS,
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    faults: Collection[Fault] = ALL_FAULTS,
    big_parts: bool = False,
    settings: hypothesis.settings | None = None,
    repository_prefix: str = "difftest",
) -> None:
    """Drives ``server`` and the reference registry with the same pushes; raises on a difference.

    - ``server(target, body)`` answers one AWS JSON 1.1 call: ``target`` is the full
      ``X-Amz-Target`` value, ``body`` the JSON bytes; it returns the HTTP status, the
      headers and the body bytes.
    - ``create_repository(name)`` creates a repository on the server; without it the
      tester calls the server's ``CreateRepository`` operation. Each example uses two
      new repositories, ``{repository_prefix}/{n}-a`` and ``-b`` (``n`` counts up from
      0 in each call of this function), so a server that keeps its state between
      examples is fine; one that keeps it between runs needs a new prefix per run.
    - ``limits`` and ``grammar`` configure the reference registry: set them to what
      your server applies.
    - ``faults`` chooses the kinds of wrong call generated (:class:`Fault`); leave out
      a known divergence to look for the next one.
    - ``big_parts`` also makes parts around ``limits.min_part_bytes``, of
      ``limits.max_part_bytes`` and over it (megabytes per call with the default
      limits: slow; use it with small limits).
    - ``settings`` are Hypothesis settings (``max_examples``, ``stateful_step_count``,
      ``database``...); by default the current profile's. The deadline and the
      explain phase are always off (they would time, and replay, whole call sequences).

    Returns ``None`` when no answer differed. Otherwise raises ``AssertionError`` whose
    message lists the shortest call sequence found, with both answers to each call.
    A server whose answers to the same calls change from run to run makes Hypothesis
    raise its ``Flaky`` error instead.
    """
    unknown = set(faults) - ALL_FAULTS
    if unknown:
        raise UsageError(f"faults must be Fault members, not {sorted(map(repr, unknown))}")
    create = create_repository or _create_through(server)
    config = Config(limits, grammar, frozenset(faults), big_parts, repository_prefix)
    numbers = itertools.count()

    def new_run() -> Run:
        return Run(server, create, config, next(numbers))

    chosen = settings if settings is not None else hypothesis.settings()
    # One AssertionError describes the difference, never a group of several; a deadline
    # would time a whole call sequence; the report lists the calls, so Hypothesis's
    # explain phase (slow: it replays variants of the sequence) is left out.
    effective = hypothesis.settings(
        chosen,
        deadline=None,
        report_multiple_bugs=False,
        phases=[phase for phase in chosen.phases if phase is not hypothesis.Phase.explain],
    )
    try:
        _run_state_machine_as_test(machine_class(new_run), settings=effective)
    except Difference as difference:
        raise AssertionError(shortest(difference.run, new_run).report()) from None


def _create_through(server: Server) -> Callable[[str], object]:
    def create(name: str) -> None:
        body = json.dumps({"repositoryName": name}).encode()
        status, _, answer = server(f"{TARGET_PREFIX}.CreateRepository", body)
        if status != 200:
            raise UsageError(
                f"the server refused CreateRepository for {name!r} ({status}: "
                f"{answer[:200]!r}); pass create_repository"
            )

    return create
