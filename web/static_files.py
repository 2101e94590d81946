"""The chat page's own CSS and scripts, kept as files in web/static/ and inlined into the pages."""
from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"


@cache
def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")
