"""Tests that kill mutants the other test files let live (``nox -s mutation``).

Each says which behaviour the surviving mutant broke. Helpers that the package calls
only while it is imported (``enum_text``) are called here at run time: mutmut switches
a mutant on per call, so a helper run only at import cannot be judged otherwise.
"""

from __future__ import annotations

import pytest

from ecr_upload_model import InvalidParameterException, LayerAvailability, LayerFailureCode
from ecr_upload_model._shapes import enum_text
from ecr_upload_model.identifiers import RepositoryGrammar


@pytest.mark.parametrize("enum", [LayerAvailability, LayerFailureCode])
def test_enum_shape_reads_each_value_and_writes_it_back(
    enum: type[LayerAvailability] | type[LayerFailureCode],
) -> None:
    shape = enum_text(enum)
    for item in enum:
        assert shape.decode(item.value, "m") == item.value
        assert shape.check(item.value, "m", RepositoryGrammar.SEED) is item
        assert shape.encode(item) == item.value
        shape.validate(item, "m")


def test_enum_shape_refuses_another_text_naming_the_allowed_values() -> None:
    shape = enum_text(LayerAvailability)
    with pytest.raises(InvalidParameterException) as refused:
        shape.check("available", "layerAvailability", RepositoryGrammar.SEED)
    assert refused.value.message == (
        "Invalid parameter at 'layerAvailability' failed to satisfy constraint: "
        "'must satisfy enum value set: [AVAILABLE, UNAVAILABLE, ARCHIVED]'"
    )
    with pytest.raises(InvalidParameterException, match="must be a LayerAvailability"):
        shape.validate("AVAILABLE", "layerAvailability")
