"""The book's troubleshooting page quotes only messages the helpers really give.

Every message in the first column of the page's tables (the code span, with ``…`` where
the message names your file or numbers) must match, piece by piece and in order, a string
template of the ``wfss_helpers`` source: a string literal or f-string, read with ``ast``
so that implicitly concatenated pieces are joined and each ``{...}`` field counts as a
placeholder.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "jupyter_book" / "troubleshooting.md"


def _templates():
    """Every string literal and f-string of the package, fields rendered as ``{}``."""
    templates = []
    for path in sorted((ROOT / "wfss_helpers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                templates.append(
                    "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                templates.append(node.value)
    return templates


def _quoted_messages():
    messages = []
    for line in PAGE.read_text().splitlines():
        match = re.match(r"\|\s*`([^`]+)`", line)
        if match and not line.startswith("| The message"):
            messages.append(match.group(1))
    return messages


TEMPLATES = _templates()
MESSAGES = _quoted_messages()


def test_page_lists_the_messages():
    assert len(MESSAGES) >= 25


@pytest.mark.parametrize("message", MESSAGES)
def test_quoted_message_is_in_the_source(message):
    pieces = [piece.strip() for piece in message.split("…") if len(piece.strip()) >= 3]
    assert pieces, message
    pattern = re.compile(".*".join(re.escape(piece) for piece in pieces), re.DOTALL)
    assert any(pattern.search(template) for template in TEMPLATES), (
        f"The troubleshooting page quotes {message!r}, which no message of wfss_helpers contains"
    )
