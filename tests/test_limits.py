"""The limits: the API's own rules by default, ECR's service quotas as a preset."""

from __future__ import annotations

import attrs
import pytest

from ecr_upload_model import API_LIMITS, SERVICE_QUOTAS, Limits, UsageError
from ecr_upload_model.limits import API_MAX_PART_BYTES, MAX_LONG, MIB


def test_default_limits_are_the_apis_own_rules() -> None:
    # Reference sheet, section 8: 20,971,520-byte parts, 5 MiB minimum, no count cap.
    assert Limits() == API_LIMITS
    assert API_LIMITS.max_part_bytes == 20_971_520
    assert API_LIMITS.min_part_bytes == 5 * 1024 * 1024
    assert API_LIMITS.max_parts is None
    assert API_LIMITS.max_layer_bytes is None


def test_service_quota_preset_is_ecrs_quotas() -> None:
    # Reference sheet, section 8: 10 MiB parts, 4,200 parts, 52,000 MiB layers.
    assert SERVICE_QUOTAS.max_part_bytes == 10_485_760
    assert SERVICE_QUOTAS.max_parts == 4_200
    assert SERVICE_QUOTAS.max_layer_bytes == 52_000 * 1024 * 1024
    assert SERVICE_QUOTAS.min_part_bytes == API_LIMITS.min_part_bytes


def test_part_size_answered_by_initiate_is_what_emulators_return() -> None:
    assert API_LIMITS.part_size == 10 * MIB
    assert SERVICE_QUOTAS.part_size == 10 * MIB


def test_long_maximum_is_two_to_the_63_minus_one() -> None:
    assert MAX_LONG == 2**63 - 1


def test_limits_are_immutable() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        API_LIMITS.max_part_bytes = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "field", ["max_part_bytes", "min_part_bytes", "max_parts", "max_layer_bytes", "part_size"]
)
@pytest.mark.parametrize("value", [0, -1, True, 1.5, "10"])
def test_limit_that_is_not_a_positive_int_is_a_usage_error(field: str, value: object) -> None:
    with pytest.raises(UsageError, match=field):
        Limits(**{field: value})  # type: ignore[arg-type]


def test_part_maximum_above_the_api_maximum_is_a_usage_error() -> None:
    assert Limits(max_part_bytes=API_MAX_PART_BYTES).max_part_bytes == API_MAX_PART_BYTES
    with pytest.raises(UsageError, match="API maximum"):
        Limits(max_part_bytes=API_MAX_PART_BYTES + 1)


@pytest.mark.parametrize(
    ("min_part", "part_size", "max_part"), [(8, 7, 16), (8, 17, 16), (17, 17, 16)]
)
def test_part_size_outside_the_part_bounds_is_a_usage_error(
    min_part: int, part_size: int, max_part: int
) -> None:
    with pytest.raises(UsageError, match="part_size"):
        Limits(min_part_bytes=min_part, part_size=part_size, max_part_bytes=max_part)


@pytest.mark.parametrize(
    ("min_part", "part_size", "max_part"), [(8, 8, 16), (8, 16, 16), (1, 1, 1)]
)
def test_part_size_within_the_part_bounds_is_accepted(
    min_part: int, part_size: int, max_part: int
) -> None:
    limits = Limits(min_part_bytes=min_part, part_size=part_size, max_part_bytes=max_part)
    assert (limits.min_part_bytes, limits.part_size, limits.max_part_bytes) == (
        min_part,
        part_size,
        max_part,
    )


def test_limits_refuse_a_part_size_outside_the_part_bounds_saying_so() -> None:
    with pytest.raises(
        UsageError, match=r"^part_size must lie between min_part_bytes and max_part_bytes$"
    ):
        Limits(part_size=1)
