"""An article's version history as readable diffs (difflib): paragraph by paragraph, and
character by character inside a changed paragraph (Chinese has no spaces to split words at).

The pieces are plain text; the template escapes them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from crawler.web.render import when

CONTEXT = 2  # unchanged paragraphs shown around a change


@dataclass
class DiffRow:
    kind: str  # "same", "del", "ins" or "gap" (unchanged paragraphs left out)
    pieces: list[tuple[str, bool]] = field(default_factory=list)  # (text, changed)


def document(content: dict[str, Any]) -> list[str]:
    """The lines a reader compares: the labelled fields, then the body's paragraphs."""
    lines = [f"标题 title: {content['title']}"]
    lines.append(f"发布 published: {when(content['published_at'])}")
    for name, label in (("source", "来源 source"), ("author", "作者 author")):
        if content.get(name):
            lines.append(f"{label}: {content[name]}")
    return lines + [line for line in (content.get("body_text") or "").split("\n") if line.strip()]


def unified(old: dict[str, Any], new: dict[str, Any], old_label: str, new_label: str) -> str:
    return "\n".join(
        difflib.unified_diff(
            document(old), document(new), old_label, new_label, n=CONTEXT, lineterm=""
        )
    )


SIMILAR = 0.5  # below this share of equal characters, two lines are a rewrite, not an edit


def _inline(old: str, new: str) -> list[DiffRow]:
    """An edited line: the characters that changed marked in both versions; a rewritten one
    (too little in common to mark usefully): the two lines whole."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < SIMILAR:
        return [DiffRow("del", [(old, False)]), DiffRow("ins", [(new, False)])]
    gone, added = DiffRow("del"), DiffRow("ins")
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            gone.pieces.append((old[i1:i2], tag != "equal"))
        if j2 > j1:
            added.pieces.append((new[j1:j2], tag != "equal"))
    return [gone, added]


def rows(old: dict[str, Any], new: dict[str, Any]) -> list[DiffRow]:
    """The changes from ``old`` to ``new``, with CONTEXT unchanged lines around each."""
    a, b = document(old), document(new)
    out: list[DiffRow] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT):
        if out:
            out.append(DiffRow("gap", [("…", False)]))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffRow("same", [(line, False)]) for line in a[i1:i2]]
                continue
            paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for k in range(paired):
                out += _inline(a[i1 + k], b[j1 + k])
            out += [DiffRow("del", [(line, False)]) for line in a[i1 + paired : i2]]
            out += [DiffRow("ins", [(line, False)]) for line in b[j1 + paired : j2]]
    return out
