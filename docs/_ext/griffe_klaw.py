"""Griffe extension: render klaw-core's docstrings well in the API reference.

The project's docstrings are Google style, written to read well in ``help()``
and to run as doctests, with a few habits that griffe's Google parser does not
know. This extension adapts them at documentation-build time only (the source
is untouched):

- ``Example:`` (singular) becomes ``Examples:``, so griffe parses it as an
  examples section and renders ``>>>`` lines as Python code, instead of as a
  Markdown admonition where ``[1, 2]`` would read as a reference link.
- Sphinx roles (``:class:`~a.b.C```, ``:func:`f```, ...) become inline code
  (``C``, ``f``), because mkdocstrings does not interpret reST roles.
- A paragraph ending in reST's ``::`` ends in ``:`` (the indented block after it
  is already a code block in Markdown).
- reST simple tables (rows between ``=====  ====`` borders) become Markdown
  tables.
- A reST literal whose text holds backticks (````at `$[0]`````) gets the spaces
  Markdown needs to delimit it (``` `` at `$[0]` `` ```).
"""

from __future__ import annotations

import re
from typing import Any

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj|const|type):`(~?)([^`]+)`")
_LITERAL_MARKER = re.compile(r"(\S)[ \t]*::[ \t]*$", re.M)
_BARE_LITERAL_MARKER = re.compile(r"^[ \t]*::[ \t]*$", re.M)
_LITERAL_WITH_BACKTICKS = re.compile(r"``([^`\n]*`[^\n]*?`)``(?!`)")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    if "<" in target and target.endswith(">"):  # :class:`text <target>`
        target = target[: target.index("<")].strip()
    if short:
        target = target.rsplit(".", 1)[-1]
    return f"`{target.lstrip('.')}`"


_BORDER = re.compile(r"^([ \t]*)=+(?:[ \t]+=+)+[ \t]*$")


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    cells = []
    for i, (start, end) in enumerate(spans):
        stop = spans[i + 1][0] if i + 1 < len(spans) else len(line)
        cells.append(line[start : max(end, stop)].strip())
    return cells


def _simple_tables(text: str) -> str:
    """Turn reST simple tables (three ``===`` borders: top, under the header, bottom) into Markdown."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        top = _BORDER.match(lines[i])
        if top is None:
            out.append(lines[i])
            i += 1
            continue
        borders = [j for j in range(i, len(lines)) if lines[j].strip() == lines[i].strip()][:3]
        if len(borders) < 3 or any(not lines[j].strip() for j in range(i, borders[2])):
            out.append(lines[i])
            i += 1
            continue
        spans = [(m.start(), m.end()) for m in re.finditer(r"=+", lines[i])]
        indent = top.group(1)
        header = [_cells(lines[j], spans) for j in range(i + 1, borders[1])]
        body = [_cells(lines[j], spans) for j in range(borders[1] + 1, borders[2])]
        head = [" ".join(col).strip() for col in zip(*header, strict=True)]
        out.append(indent + "| " + " | ".join(head) + " |")
        out.append(indent + "|" + " --- |" * len(head))
        out.extend(indent + "| " + " | ".join(row) + " |" for row in body)
        i = borders[2] + 1
    return "\n".join(out)


def adapt(text: str) -> str:
    """Return ``text`` with the project's reST habits turned into Markdown."""
    text = _simple_tables(text)
    text = _EXAMPLE.sub(r"\1Examples:", text)
    text = _ROLE.sub(_role, text)
    text = _LITERAL_WITH_BACKTICKS.sub(r"`` \1 ``", text)
    text = _BARE_LITERAL_MARKER.sub("", text)
    return _LITERAL_MARKER.sub(r"\1:", text)


try:  # adapt() is tested without the docs extra installed; only the hook needs griffe
    import griffe
except ImportError:  # pragma: no cover - the docs build always has griffe
    pass
else:

    class KlawDocstrings(griffe.Extension):
        """Apply :func:`adapt` to every docstring griffe loads."""

        def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
            if obj.docstring is not None:
                obj.docstring.value = adapt(obj.docstring.value)
