"""Read back what a PDF page shows: literal strings of its content stream, whitespace-normalised.

Enough for pages this tool draws with reportlab's standard fonts (WinAnsi-encoded literal
strings); not a general PDF text extractor.
"""

from __future__ import annotations

_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def literal_strings(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        if data[i] != ord("("):
            i += 1
            continue
        depth, i, buf = 1, i + 1, bytearray()
        while i < n and depth:
            c = data[i]
            if c == ord("\\") and i + 1 < n:
                nxt = data[i + 1]
                if ord("0") <= nxt <= ord("7"):
                    j = i + 1
                    while j < min(i + 4, n) and ord("0") <= data[j] <= ord("7"):
                        j += 1
                    buf.append(int(data[i + 1 : j], 8) & 0xFF)
                    i = j
                    continue
                buf.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            if c == ord("("):
                depth += 1
            elif c == ord(")"):
                depth -= 1
                if not depth:
                    i += 1
                    break
            buf.append(c)
            i += 1
        out.append(bytes(buf))
    return out


def normalise(text: str) -> str:
    return " ".join(text.split())


def page_text(content: bytes) -> str:
    return normalise(" ".join(s.decode("cp1252", errors="replace") for s in literal_strings(content)))
