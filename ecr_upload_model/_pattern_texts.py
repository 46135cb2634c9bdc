"""Texts of the API model's published patterns, for the strategies: the oracle that says
whether a text is accepted, the characters a pattern uses, and generators of accepted
texts that shrink well.

A published pattern is read, not trusted: every text generated is checked against it
with Python's ``re`` (an oracle independent of the linear patterns the package validates
with). Two kinds of pattern get generators of their own, faster than
``st.from_regex`` and shrinking towards short texts: a row of atoms each with ``{n}``,
``+`` or no count (RegistryId, UploadId, LayerDigest), and words of letters and digits
joined by separators (RepositoryName's grammars); any other falls back to
``st.from_regex``.

>>> from ecr_upload_model.identifiers import REGISTRY_ID
>>> sorted(alphabet(REGISTRY_ID.published))[:3], accepts(REGISTRY_ID, "123456789012")
(['0', '1', '2'], True)
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from .identifiers import TextRule

__all__ = ["accepts", "alphabet", "stretch", "texts", "within_length"]


def accepts(rule: TextRule, text: str) -> bool:
    """Whether the API model accepts ``text``: its length bounds and published pattern."""
    return within_length(rule, text) and re.fullmatch(rule.published, text) is not None


#: Not characters of the language: groups' `(?:`, and `{m,n}` counts.
_PATTERN_SYNTAX = re.compile(r"\(\?:|\{\d+(?:,\d*)?\}")
#: One atom of a pattern: a bracket class, an escape, or a literal character.
_ATOM = r"\[(?:\\.|[^\]])*\]|\\.|[^()|*+?{}\[\]\\]"
_PATTERN_ATOM = re.compile(_ATOM)
#: An atom with its count, ``{n}``, ``+`` or none: a "flat" pattern is a row of these.
_FLAT_PIECE = re.compile(f"({_ATOM})(?:\\{{(\\d+)\\}}|(\\+))?")


def _matched_by(atom: str) -> list[str]:
    """The ASCII characters one atom matches (the API model's classes are ASCII)."""
    return [c for c in map(chr, range(128)) if re.fullmatch(atom, c)]


@functools.cache
def alphabet(published: str) -> frozenset[str]:
    """The characters a published pattern can match anywhere."""
    atoms = _PATTERN_ATOM.findall(_PATTERN_SYNTAX.sub("", published))
    return frozenset(c for atom in atoms for c in _matched_by(atom))


def _flat_texts(published: str) -> st.SearchStrategy[str] | None:
    """Texts of a pattern that is a row of atoms each with ``{n}``, ``+`` or no count
    (RegistryId, UploadId, LayerDigest), or None for any other pattern.

    ``st.from_regex`` would do, ten times slower.
    """
    pieces = list(_FLAT_PIECE.finditer(published))
    if "".join(piece.group(0) for piece in pieces) != published:
        return None
    parts = []
    for piece in pieces:
        atom, count, plus = piece.groups()
        characters = _matched_by(atom)
        if plus:
            parts.append(st.text(characters, min_size=1))
        else:
            # A fixed count is one number written in the atom's characters: one draw
            # instead of one per character.
            size = int(count) if count else 1
            numbers = st.integers(0, len(characters) ** size - 1)
            parts.append(numbers.map(_numerals(characters, size)))
    return st.tuples(*parts).map("".join)


def _numerals(digits: Sequence[str], size: int) -> Callable[[int], str]:
    """A number written with ``size`` of ``digits``, most significant first."""

    def numeral(number: int) -> str:
        written = []
        for _ in range(size):
            number, digit = divmod(number, len(digits))
            written.append(digits[digit])
        return "".join(reversed(written))

    return numeral


def _word_texts(rule: TextRule) -> st.SearchStrategy[str] | None:
    """Runs of letters and digits joined by separators (RepositoryName's grammars).

    The separators are the strings of one to three non-alphanumeric characters of the
    alphabet that the published pattern admits between two letters. One text is drawn
    (fast to generate and to shrink), a stand-in character for each separator, and
    separators are kept only between two letters. None if the pattern is not of words.
    """
    characters = sorted(alphabet(rule.published))
    letters = [c for c in characters if c.isalnum()]
    word = (letters or [""])[0] * max(1, rule.min_length or 1)
    separators = [
        "".join(chars)
        for size in (1, 2, 3)
        for chars in itertools.product([c for c in characters if not c.isalnum()], repeat=size)
        if accepts(rule, word + "".join(chars) + word)
    ]
    if not separators or not accepts(rule, word):
        return None
    # Stand-ins outside ASCII, which no published pattern admits.
    stand_ins = {chr(0x100 + i): separator for i, separator in enumerate(separators)}

    def expand(drawn: str) -> str:
        text: list[str] = []
        pending = ""
        for c in drawn:
            if c in stand_ins:
                pending = stand_ins[c]
            else:
                text += [pending, c] if text else [c]
                pending = ""
        return "".join(text)

    return st.text([*letters, *stand_ins], min_size=1).map(expand).filter(bool)


@functools.cache
def texts(rule: TextRule) -> st.SearchStrategy[str]:
    """Texts the published rule accepts; any length allowed, the bounds among them."""
    generated = _flat_texts(rule.published)
    if generated is None:
        generated = _word_texts(rule)
    if generated is None:
        generated = st.from_regex(rule.published, fullmatch=True)
    if rule.min_length is not None and rule.max_length is not None:
        bounds = [rule.min_length, rule.max_length]
        lengths = st.one_of(st.sampled_from(bounds), st.integers(*bounds))
        generated = st.one_of(generated, st.builds(stretch, generated, lengths))
    # The oracle: whatever the generators above assume, only accepted texts come out.
    return generated.filter(lambda text: accepts(rule, text))


def stretch(text: str, length: int) -> str:
    """``text`` made ``length`` long by repeating its last character (a letter or digit
    in every name grammar; :func:`texts` checks the result against the pattern)."""
    if len(text) > length:
        return text[-1] * length
    return text + text[-1] * (length - len(text))


def within_length(rule: TextRule, text: str) -> bool:
    too_short = rule.min_length is not None and len(text) < rule.min_length
    return not too_short and (rule.max_length is None or len(text) <= rule.max_length)
