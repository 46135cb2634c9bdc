"""The calls of a differential run, described so that a sequence can be replayed.

A call names its repository by role and its upload by the initiation that started it:
each side (the server, the reference), and each replay on fresh repositories, resolves
them to its own names and ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from .._faults import Fault
from ..identifiers import RepositoryGrammar
from ..limits import Limits


@attrs.frozen
class Config:
    """What a call of :func:`~ecr_upload_model.testing.compare_with_reference` chose."""

    limits: Limits
    grammar: RepositoryGrammar
    faults: frozenset[Fault]
    big_parts: bool
    repository_prefix: str


#: The repositories of an example, by role: two created, one never.
CREATED: Final = ("a", "b")
MISSING: Final = "missing"


@attrs.frozen
class RepositoryRef:
    """A repository of the example by its role; each run names its own."""

    role: str


@attrs.frozen
class UploadRef:
    """The upload the ``ordinal``-th InitiateLayerUpload of the sequence started."""

    ordinal: int


@attrs.frozen(eq=False)
class Step:
    """One call: its operation and request, with references where each side differs."""

    operation: str
    #: JSON values, and bytes (blobs), RepositoryRef and UploadRef to resolve.
    request: Mapping[str, object]
    #: For InitiateLayerUpload: the ordinal of the upload it starts.
    starts: int | None = None
