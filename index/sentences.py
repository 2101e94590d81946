"""The one sentence splitter: a sentence ends at 。！？；!?; (a run of them), and a closing quote or
bracket right after the end stays with it. The pieces put together give the text back unchanged."""
from __future__ import annotations

import re

_END = "。！？；!?;"
_CLOSERS = "”’」』）)"
_SENTENCE = re.compile(rf"[^{_END}]*(?:[{_END}]+[{_CLOSERS}]*|$)")
# Answers and sources shown line by line: a line break ends a sentence too.
_SENTENCE_OR_LINE = re.compile(rf"[^{_END}\n]*(?:[{_END}]+[{_CLOSERS}]*|\n+|$)")


def sentence_spans(text: str, line_breaks: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence, in order and covering ``text``."""
    pattern = _SENTENCE_OR_LINE if line_breaks else _SENTENCE
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]


def split_sentences(text: str, line_breaks: bool = False) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, line_breaks)]
