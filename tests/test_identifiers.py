"""Identifiers: valid values, the labelled invalid ones, boundaries, and the linear patterns."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ecr_upload_model import (
    InvalidParameterException,
    LayerDigest,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    UploadId,
)
from ecr_upload_model.identifiers import LAYER_DIGEST, REGISTRY_ID, UPLOAD_ID, TextRule
from ecr_upload_model.limits import MAX_REPOSITORY_NAME_LENGTH, MIN_REPOSITORY_NAME_LENGTH
from ecr_upload_model.strategies import (
    Violation,
    invalid_layer_digests,
    invalid_registry_ids,
    invalid_repository_names,
    invalid_upload_ids,
    layer_digests,
    registry_ids,
    repository_names,
    upload_ids,
)

SEED = RepositoryGrammar.SEED
OCI = RepositoryGrammar.OCI
AnyIdentifier = RegistryId | RepositoryName | UploadId | LayerDigest


def constraint_message(member: str, constraint: str) -> str:
    return f"Invalid parameter at '{member}' failed to satisfy constraint: '{constraint}'"


def pattern_message(rule: TextRule) -> str:
    return constraint_message(rule.member, f"must satisfy regular expression '{rule.published}'")


def seed_name(text: object) -> RepositoryName:
    return RepositoryName(text)  # type: ignore[arg-type]


def oci_name(text: object) -> RepositoryName:
    return RepositoryName(text, grammar=OCI)  # type: ignore[arg-type]


# Each identifier: how it is built, the strategies of its valid and invalid values, its rule.
IDENTIFIERS: dict[
    str,
    tuple[
        Callable[[object], AnyIdentifier],
        st.SearchStrategy[AnyIdentifier],
        st.SearchStrategy[tuple[Violation, object]],
        TextRule,
    ],
] = {
    "RegistryId": (RegistryId, registry_ids(), invalid_registry_ids(), REGISTRY_ID),  # type: ignore[dict-item]
    "RepositoryName/seed": (seed_name, repository_names(), invalid_repository_names(), SEED.value),
    "RepositoryName/oci": (
        oci_name,
        repository_names(OCI),
        invalid_repository_names(OCI),
        OCI.value,
    ),
    "UploadId": (UploadId, upload_ids(), invalid_upload_ids(), UPLOAD_ID),  # type: ignore[dict-item]
    "LayerDigest": (LayerDigest, layer_digests(None), invalid_layer_digests(), LAYER_DIGEST),  # type: ignore[dict-item]
}
KINDS = sorted(IDENTIFIERS)


# ---------------------------------------------------------------------------------------
# Valid values


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_valid_value_reads_back_from_its_text_equal_and_with_the_same_hash(
    kind: str, data: st.DataObject
) -> None:
    build, valid, _, _ = IDENTIFIERS[kind]
    value = data.draw(valid)
    again = build(str(value))
    assert str(again) == str(value)
    assert again == value
    assert hash(again) == hash(value)


@pytest.mark.parametrize(
    "value",
    [
        RegistryId("123456789012"),
        RepositoryName("team/app"),
        UploadId("0a1b2c3d-0000-4000-8000-000000000000"),
        LayerDigest("sha256:abc"),
    ],
)
def test_identifier_is_immutable(value: AnyIdentifier) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        value.value = "other"  # type: ignore[misc]


def test_identifiers_of_different_text_differ() -> None:
    assert RepositoryName("team/app") != RepositoryName("team/app2")
    assert UploadId("0a1b2c3d-0000-4000-8000-000000000000") != UploadId(
        "0A1B2C3D-0000-4000-8000-000000000000"
    )


# ---------------------------------------------------------------------------------------
# Invalid values, by the rule they break


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_invalid_value_is_refused_with_the_message_of_the_rule_it_breaks(
    kind: str, data: st.DataObject
) -> None:
    build, _, invalid, rule = IDENTIFIERS[kind]
    violation, value = data.draw(invalid)
    with pytest.raises(InvalidParameterException) as refused:
        build(value)
    if violation is Violation.WRONG_TYPE:
        expected = constraint_message(rule.member, "must be a string")
    elif violation is Violation.TOO_SHORT and rule.min_length is not None:
        expected = constraint_message(
            rule.member, f"must have length greater than or equal to {rule.min_length}"
        )
    elif violation is Violation.TOO_LONG and rule.max_length is not None:
        expected = constraint_message(
            rule.member, f"must have length less than or equal to {rule.max_length}"
        )
    else:
        expected = pattern_message(rule)
    assert refused.value.message == expected
    assert refused.value.member == rule.member
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (RegistryId, "123456789012\n"),
        (seed_name, "team/app\n"),
        (oci_name, "team/app\n"),
        (UploadId, "0a1b2c3d-0000-4000-8000-000000000000\n"),
        (LayerDigest, "sha256:abc\n"),
    ],
)
def test_trailing_newline_is_refused(build: Callable[[object], AnyIdentifier], text: str) -> None:
    with pytest.raises(InvalidParameterException, match="must satisfy regular expression"):
        build(text)


def in_script(zero: str, text: str = "123456789012") -> str:
    """``text`` with its ASCII digits written in the script whose zero is ``zero``."""
    return text.translate({ord("0") + d: chr(ord(zero) + d) for d in range(10)})


@pytest.mark.parametrize(
    "text",
    [
        in_script("\u0660"),  # Arabic-Indic: `\d` matches these, `[0-9]` does not
        "12345678901" + in_script("\u0660", "2"),
        in_script("\u06f0"),  # Extended Arabic-Indic
        in_script("\u0966"),  # Devanagari
        in_script("\uff10"),  # fullwidth
    ],
)
def test_registry_id_of_non_ascii_digits_is_refused(text: str) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        RegistryId(text)
    assert refused.value.message == pattern_message(REGISTRY_ID)


@pytest.mark.parametrize("text", ["team/\u00e4pp", "team/app\u0663", "\u017f" * 3, "team\u212a"])
def test_repository_name_of_non_ascii_letters_or_digits_is_refused(text: str) -> None:
    with pytest.raises(InvalidParameterException, match="must satisfy regular expression"):
        RepositoryName(text)


@pytest.mark.parametrize("value", [None, 123456789012, b"123456789012", ["123456789012"], 1.5])
def test_identifier_of_a_wrong_python_type_is_invalid_parameter_not_type_error(
    value: object,
) -> None:
    builders: list[Callable[[object], AnyIdentifier]] = [
        RegistryId,  # type: ignore[list-item]
        seed_name,
        UploadId,  # type: ignore[list-item]
        LayerDigest,  # type: ignore[list-item]
    ]
    for build in builders:
        with pytest.raises(InvalidParameterException, match="must be a string"):
            build(value)


# ---------------------------------------------------------------------------------------
# Repository name boundaries and grammars


@pytest.mark.parametrize("grammar", list(RepositoryGrammar))
def test_repository_name_of_2_and_256_characters_is_accepted(grammar: RepositoryGrammar) -> None:
    assert MIN_REPOSITORY_NAME_LENGTH == 2
    assert MAX_REPOSITORY_NAME_LENGTH == 256
    assert str(RepositoryName("ab", grammar=grammar)) == "ab"
    longest = "a" * 127 + "/" + "b" * 128
    assert str(RepositoryName(longest, grammar=grammar)) == longest


@pytest.mark.parametrize("grammar", list(RepositoryGrammar))
def test_repository_name_of_1_character_is_refused_for_its_length(
    grammar: RepositoryGrammar,
) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        RepositoryName("a", grammar=grammar)
    assert refused.value.message == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        "'must have length greater than or equal to 2'"
    )


@pytest.mark.parametrize("grammar", list(RepositoryGrammar))
def test_repository_name_of_257_characters_is_refused_for_its_length(
    grammar: RepositoryGrammar,
) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        RepositoryName("a" * 128 + "/" + "b" * 128, grammar=grammar)
    assert refused.value.message == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        "'must have length less than or equal to 256'"
    )


@pytest.mark.parametrize(
    ("text", "limit"),
    [("A", "greater than or equal to 2"), ("A" * 257, "less than or equal to 256")],
)
def test_repository_name_length_is_checked_before_its_pattern(text: str, limit: str) -> None:
    with pytest.raises(InvalidParameterException, match=f"must have length {limit}"):
        RepositoryName(text)


def test_seed_grammar_message_quotes_the_seed_pattern_exactly() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        RepositoryName("Team/App")
    assert refused.value.message == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
        "regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"
    )


@pytest.mark.parametrize("text", ["a__b", "a--b", "a---b", "team/a__b/c--d"])
def test_oci_separators_are_accepted_only_under_the_oci_grammar(text: str) -> None:
    assert str(RepositoryName(text, grammar=OCI)) == text
    with pytest.raises(InvalidParameterException) as refused:
        RepositoryName(text)
    assert refused.value.message == pattern_message(SEED.value)


@pytest.mark.parametrize(
    "text", ["a___b", "a..b", "a//b", "a/", "/a", ".a", "a.", "a_-b", "a-_b", "a._b", "a/-b"]
)
def test_separator_out_of_place_is_refused_by_both_grammars(text: str) -> None:
    for grammar in RepositoryGrammar:
        with pytest.raises(InvalidParameterException, match="must satisfy regular expression"):
            RepositoryName(text, grammar=grammar)


# ---------------------------------------------------------------------------------------
# The linear patterns accept exactly what the published ones accept


@functools.cache
def texts_near(rule: TextRule, alphabet: str) -> st.SearchStrategy[str]:
    """Short texts of the alphabet, and valid texts of the rule."""
    valid = {
        REGISTRY_ID.member: registry_ids(),
        UPLOAD_ID.member: upload_ids(),
        LAYER_DIGEST.member: layer_digests(None),
    }.get(rule.member, repository_names(OCI))
    return st.one_of(st.text(alphabet=alphabet, max_size=24), valid.map(str))


@functools.cache
def pieces(alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=1, max_size=3)


# Each rule with the small alphabet its mistakes would show on: its separators, a letter
# and a digit of it, a character outside it, a non-ASCII digit, a newline.
RULES_AND_ALPHABETS = [
    pytest.param(SEED.value, "a0._-/!", id="RepositoryName/seed"),
    pytest.param(OCI.value, "a0._-/!", id="RepositoryName/oci"),
    pytest.param(LAYER_DIGEST, "aA0f:-_+.!g\n", id="LayerDigest"),
    pytest.param(REGISTRY_ID, "09a٣\n", id="RegistryId"),
    pytest.param(UPLOAD_ID, "0aFg-\n", id="UploadId"),
]


@pytest.mark.parametrize(("rule", "alphabet"), RULES_AND_ALPHABETS)
@given(data=st.data())
def test_linear_pattern_accepts_exactly_what_the_published_pattern_accepts(
    rule: TextRule, alphabet: str, data: st.DataObject
) -> None:
    text = data.draw(texts_near(rule, alphabet))
    if data.draw(st.booleans()):
        # A few characters of the alphabet put in, in place of as many or fewer.
        at = data.draw(st.integers(0, len(text)))
        piece = data.draw(pieces(alphabet))
        text = text[:at] + piece + text[at + data.draw(st.integers(0, len(piece))) :]
    published = re.fullmatch(rule.published, text) is not None
    assert (rule.linear.fullmatch(text) is not None) == published


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (SEED.value, "a.b/c-d_e"),
        (SEED.value, "a/b/c"),
        (OCI.value, "a__b/c---d.e_f"),
        (OCI.value, "a___b"),
        (SEED.value, "a__b"),
        (LAYER_DIGEST, "sha256:"),
        (LAYER_DIGEST, ":ab"),
        (LAYER_DIGEST, "a-_+.:AbC09"),
        (LAYER_DIGEST, "sha256:ab:cd"),
    ],
)
def test_linear_pattern_agrees_with_published_pattern_on_known_cases(
    rule: TextRule, text: str
) -> None:
    published = re.fullmatch(rule.published, text) is not None
    assert (rule.linear.fullmatch(text) is not None) == published


# ---------------------------------------------------------------------------------------
# LayerDigest


@given(layer_digests(["sha256", "sha512"]))
def test_layer_digest_splits_into_algorithm_and_hex(digest: LayerDigest) -> None:
    assert f"{digest.algorithm}:{digest.hex}" == str(digest)
    assert ":" not in digest.algorithm


@given(layer_digests())
def test_layer_digest_matches_the_same_number_in_any_hex_letter_case(digest: LayerDigest) -> None:
    upper = LayerDigest(f"{digest.algorithm}:{digest.hex.upper()}")
    assert digest.matches(upper)
    assert upper.matches(digest)


@given(layer_digests(), layer_digests())
def test_layer_digests_of_different_numbers_do_not_match(
    first: LayerDigest, second: LayerDigest
) -> None:
    assert first.matches(second) == (first.hex.lower() == second.hex.lower())


def test_layer_digest_of_another_algorithm_does_not_match() -> None:
    hex_digits = "ab" * 32
    assert not LayerDigest(f"sha256:{hex_digits}").matches(LayerDigest(f"SHA256:{hex_digits}"))
    assert not LayerDigest(f"sha256:{hex_digits}").matches(LayerDigest(f"sha512:{hex_digits}"))


@example("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
@given(st.binary(min_size=32, max_size=32).map(bytes.hex))
def test_sha256_names_the_digest_of_a_hexdigest(hexdigest: str) -> None:
    digest = LayerDigest.sha256(hexdigest)
    assert digest.algorithm == "sha256"
    assert digest.hex == hexdigest


def test_layer_digest_names_the_member_it_was_read_for() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        LayerDigest("sha256", member="layerDigests")
    assert refused.value.message == constraint_message(
        "layerDigests", f"must satisfy regular expression '{LAYER_DIGEST.published}'"
    )
