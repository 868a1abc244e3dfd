"""Which bytes a gate's regular expression can start a match with, so that each cell of the
scanner's table (one first byte) tests only the openings that can match there.

A cell's openings are one alternation. The regex engine skips an alternative that begins with
a literal or a character class cheaply, but not one that begins with `\\s*`, an optional group
or a lookahead, and the text detectors' openings (log line layouts, JSON keys) have many of
those. `cuts_by_first_byte` drops, for each first byte, the alternatives (and keyed openings)
that cannot start with it: a note starting with "l" took 1.9-2.2 us in its cell's gate test,
1.3-1.4 us with them cut; a CSV line 2.9 us, 2.2-2.4 us.

The answer is a superset, never less: an alternative is kept unless its first byte provably
differs. It is read from Python's own regex parser (`re._parser`, private but present since
3.11); anything this module does not know (a construct, a flag, a parser that changed) keeps
the alternative. Dropping one that could match would silently lose findings, so
tests/unit/test_scan_gates.py checks the pruned cells decide exactly as the unpruned gates do.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import replace
from typing import Any

from sanitize.detect.base import Gate

_c: Any
_p: Any
try:
    _c = importlib.import_module("re._constants")
    _p = importlib.import_module("re._parser")
except ImportError:  # a Python whose parser moved: no pruning, every opening kept
    _c = _p = None

ALL = frozenset(range(256))


class _Unknown(Exception):
    """A construct this module does not reason about: the caller keeps the pattern."""


def _categories() -> dict[Any, frozenset[int]]:
    if _c is None:
        return {}
    digit = frozenset(b"0123456789")
    space = frozenset(b" \t\n\r\f\v")
    word = frozenset(b"0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return {
        _c.CATEGORY_DIGIT: digit,
        _c.CATEGORY_NOT_DIGIT: ALL - digit,
        _c.CATEGORY_SPACE: space,
        _c.CATEGORY_NOT_SPACE: ALL - space,
        _c.CATEGORY_WORD: word,
        _c.CATEGORY_NOT_WORD: ALL - word,
    }


_CATEGORIES = _categories()  # of a bytes pattern without LOCALE or UNICODE: ASCII classes


def _charset(items: list[tuple[Any, Any]]) -> frozenset[int]:
    chosen: set[int] = set()
    negate = False
    for op, arg in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            chosen.add(arg)
        elif op is _c.RANGE:
            chosen.update(range(arg[0], arg[1] + 1))
        elif op is _c.CATEGORY and arg in _CATEGORIES:
            chosen |= _CATEGORIES[arg]
        else:
            raise _Unknown(op)
    return ALL - chosen if negate else frozenset(chosen)


def _sequence(items: Any) -> tuple[frozenset[int], bool]:
    """The first bytes of a sequence's matches, and whether it can match the empty string."""
    first: frozenset[int] = frozenset()
    for op, arg in items:
        item, empty = _item(op, arg)
        first |= item
        if not empty:
            return first, False
    return first, True


def _item(op: Any, arg: Any) -> tuple[frozenset[int], bool]:
    if op is _c.LITERAL:
        return frozenset((arg,)), False
    if op is _c.NOT_LITERAL:
        return ALL - {arg}, False
    if op is _c.IN:
        return _charset(arg), False
    if op is _c.ANY:
        return ALL, False
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, _high, sub = arg
        first, empty = _sequence(sub)
        return first, empty or low == 0
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = arg
        if (add_flags | del_flags) & ~_c.SRE_FLAG_VERBOSE:  # (?i:...) and the like: not reasoned about
            raise _Unknown(op)
        return _sequence(sub)
    if op is _c.ATOMIC_GROUP:
        return _sequence(arg)
    if op is _c.BRANCH:
        branches = [_sequence(alternative) for alternative in arg[1]]
        return frozenset().union(*(f for f, _ in branches)), any(e for _, e in branches)
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return frozenset(), True  # consumes nothing: narrows nothing
    raise _Unknown(op)


@functools.cache
def _parsed(pattern: bytes) -> Any:
    """The parser's tree of a bytes pattern, or None if it does not parse (or no parser)."""
    if _p is None:
        return None
    try:
        return _p.parse(pattern)
    except (re.error, RecursionError, TypeError, ValueError):
        return None


@functools.cache
def first_bytes(pattern: bytes) -> frozenset[int]:
    """A superset of the bytes a match of `pattern` (a bytes regex, `match` at the header's start)
    can begin with: every byte when it can match the empty string, or when unsure."""
    parsed = _parsed(pattern)
    try:
        if parsed is None or parsed.state.flags & ~(_c.SRE_FLAG_VERBOSE | _c.SRE_FLAG_DOTALL | _c.SRE_FLAG_MULTILINE):
            return ALL
        first, empty = _sequence(parsed.data)
    except (_Unknown, AttributeError, TypeError, ValueError):
        return ALL
    return ALL if empty else first


@functools.cache
def alternatives(pattern: bytes) -> tuple[bytes, ...]:
    """The top-level alternatives of a pattern's text, each a pattern of its own; the pattern
    alone when it starts with inline flags (they would apply to every alternative) or when a
    part does not parse alone (a split this function got wrong)."""
    if pattern.startswith(b"(?") and pattern[2:3].isalpha():
        return (pattern,)
    parts: list[bytes] = []
    depth = start = i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i : i + 1]
        if char == b"\\":
            i += 2
            continue
        if in_class:
            # "]" right after "[" or "[^" is a literal member, not the end of the class.
            if char == b"]" and pattern[i - 1 : i] != b"[" and pattern[i - 2 : i] != b"[^":
                in_class = False
        elif char == b"[":
            in_class = True
        elif char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
        elif char == b"|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    if len(parts) > 1 and any(_parsed(part) is None for part in parts):
        return (pattern,)
    return tuple(parts)


@functools.cache
def cuts_by_first_byte(gate: Gate) -> tuple[Gate | None, ...]:
    """`gate` as it applies to a header starting with each byte (index 0-255): the opening's
    alternatives and the keyed openings that cannot start there dropped, its other parts kept;
    None where nothing is left. Equal cuts are one object. Cached: every scan (the inventory
    runs one per volume) builds its tables from the same gates."""
    parts = alternatives(gate.opening) if gate.opening is not None else ()
    firsts = [first_bytes(a) for a in (*parts, *(opening for opening, _ in gate.keyed))]
    if all(len(f) == len(ALL) for f in firsts):  # most binary formats' openings: nothing to cut
        return (None if gate == Gate() else gate,) * 256
    masks = [0] * 256  # bit i: the i-th alternative (then keyed opening) can start with the byte
    for i, first in enumerate(firsts):
        for byte in first:
            masks[byte] |= 1 << i
    made: dict[int, Gate | None] = {}
    for mask in set(masks):
        kept = [bool(mask >> i & 1) for i in range(len(firsts))]
        made[mask] = _cut(gate, parts, tuple(kept[: len(parts)]), tuple(kept[len(parts) :]))
    return tuple(made[mask] for mask in masks)


def _cut(gate: Gate, parts: tuple[bytes, ...], kept: tuple[bool, ...], kept_keyed: tuple[bool, ...]) -> Gate | None:
    if all(kept) and all(kept_keyed):
        cut = gate
    else:
        alive = [a for a, k in zip(parts, kept, strict=True) if k]
        # Each part parses alone and none names a group or sets a global flag: their join is sound.
        opening = gate.opening if all(kept) else b"|".join(b"(?:%s)" % a for a in alive) if alive else None
        keyed = tuple(entry for entry, k in zip(gate.keyed, kept_keyed, strict=True) if k)
        cut = replace(gate, opening=opening, keyed=keyed)
    return None if cut == Gate() else cut
