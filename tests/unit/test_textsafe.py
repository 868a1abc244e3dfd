"""File names that are not UTF-8, or that hold control characters, in JSON and on a terminal."""

from __future__ import annotations

import base64
import collections
import enum
import functools
import json
import os
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sanitize.cli import cli
from sanitize.textsafe import json_safe, json_text, printable
from tests.support.clirunner import cli_runner

GGUF = b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + bytes(64)


def test_json_safe_keeps_the_exact_bytes_beside_readable_text() -> None:
    name = os.fsdecode(b"model\xff\xfe.gguf")
    doc = json_safe({"artifacts": [{"path": name, "size": 3}], "roots": [name], "plain": "ok"})
    assert doc["artifacts"][0]["path"] == "model\\xff\\xfe.gguf"
    assert base64.b64decode(doc["artifacts"][0]["path_b64"]) == b"model\xff\xfe.gguf"
    assert doc["roots"] == ["model\\xff\\xfe.gguf"] and doc["plain"] == "ok"
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # encodable: no lone surrogate left


# Names as the disk gives them: any code point, undecodable bytes (lone surrogates), backslashes,
# quotes and control characters, in keys and values, nested.
_pieces = ["a", "\\", '"', "\n", "\udcff", "\udc80", "\u202e", "\U0001f600", "x\\xff"]
_names = st.lists(st.sampled_from(_pieces)).map("".join)
_docs = st.recursive(
    st.none() | st.integers() | st.booleans() | _names,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=12,
)


@given(_docs)
def test_json_text_is_json_safe_then_dumps(doc: object) -> None:
    expected = json.dumps(json_safe(doc), indent=2, ensure_ascii=False)
    assert json_text(doc) == expected
    expected.encode("utf-8")


def test_valid_names_are_untouched_in_json() -> None:
    doc = {"path": "line\nbreak \u202e.gguf", "n": 1}
    assert json_safe(doc) == doc


def test_printable_escapes_what_would_fool_a_terminal() -> None:
    assert printable("plain name.gguf") == "plain name.gguf"
    assert printable("line\nbreak") == "line\\x0abreak"
    assert printable("\x1b[31mred") == "\\x1b[31mred"
    assert printable("\u202eflig.gguf") == "\\u202eflig.gguf"
    assert printable(os.fsdecode(b"a\xffb")) == "a\\xffb"
    assert printable("modèle 模型.gguf") == "modèle 模型.gguf"


def test_scan_json_stays_utf8_and_the_table_one_line_per_artifact(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    for raw in (b"model\xff.gguf", b"line\nbreak.gguf", "\u202eflig.gguf".encode()):
        with open(os.path.join(root, raw), "wb") as fh:
            fh.write(GGUF)

    out = cli_runner().invoke(cli, ["scan", "--json", str(tmp_path)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout_bytes.decode("utf-8"))  # strict UTF-8, as jq and other languages read it
    by_path = {a["path"]: a for a in doc["artifacts"]}
    assert set(by_path) == {"model\\xff.gguf", "line\nbreak.gguf", "\u202eflig.gguf"}
    assert base64.b64decode(by_path["model\\xff.gguf"]["path_b64"]) == b"model\xff.gguf"

    table = cli_runner().invoke(cli, ["scan", str(tmp_path)])
    rows = [line for line in table.stdout.splitlines() if "gguf-magic" in line]
    assert len(rows) == 3
    assert any(r.startswith("line\\x0abreak.gguf") for r in rows) and "\u202e" not in table.stdout


def test_a_literal_escape_and_the_bytes_it_spells_never_share_a_json_path() -> None:
    raw = os.fsdecode(b"\xff\xfe.gguf")  # the bytes 0xff 0xfe
    literal = "\\xff\\xfe.gguf"  # the eight characters backslash, x, f, f, ...
    a, b = json_safe({"path": raw}), json_safe({"path": literal})
    assert a["path"] != b["path"]
    assert base64.b64decode(a["path_b64"]) == b"\xff\xfe.gguf"
    assert base64.b64decode(b["path_b64"]) == literal.encode()
    assert json_safe({"path": "plain.gguf"}) == {"path": "plain.gguf"}  # no _b64 when the text is the name


_json_docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | _names,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4) | _names, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_docs, st.sampled_from([None, 0, 1, 2, 4]))
def test_json_text_writes_what_json_dumps_writes(doc: object, indent: int | None) -> None:
    """The document text is a contract: the C-encoder path writes it byte for byte as json.dumps."""
    assert json_text(doc, indent) == json.dumps(json_safe(doc), indent=indent, ensure_ascii=False)


def test_json_text_unusual_values_are_written_as_json_dumps_writes_them() -> None:
    class Kind(enum.StrEnum):
        A = "a"

    placeholder = 0x5EED_0000_0000_0000_0000
    for doc in (
        {"kind": Kind.A, "n": enum.IntEnum("N", "ONE").ONE, "nested": {"k": Kind.A}},  # subclasses
        {1: "x", 2.5: {"y": 1}, None: [1], False: {}},  # keys json converts
        {"a": placeholder, "b": {"c": 1}, "d": str(placeholder)},  # the placeholder's own number
        {"a": [float("nan"), float("inf"), -0.0, 1e300, [], {}, [[]], ({"t": ()},)]},
        collections.OrderedDict(a=collections.OrderedDict(b=[1, {"c": None}])),
        functools.reduce(lambda inner, _: {"x": inner, "y": [1]}, range(70), {"z": 1}),  # deeper than MAX_DEPTH
    ):
        assert json_text(doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    with pytest.raises(TypeError):
        json_text({"a": {"b": object()}})
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular"):
        json_text({"a": cycle})
