"""Lexical evidence: how much of a question's content the retrieved text actually contains.

Terms weigh by rarity in the corpus (idf) and by kind: a missing noun or year ("床位", "2021年") says
more about whether the report covers a question than a missing verb, which a paraphrase may change.
"""
from __future__ import annotations

import math
import re

from bot.query import QuestionInfo
from index.keyword import KeywordIndex

_NOUN_KINDS = {"n", "nr", "ns", "nt", "nz", "nw", "nrt", "nrfg", "eng", "j", "year", "l", "i"}
_SEMI_KINDS = {"vn", "b", "an", "m"}
COMPOSED_GAP = 4  # characters allowed between the words of a compound term found apart


def names_a_thing(kind: str) -> bool:
    """A part of speech that names what a question is about or a figure could count: nouns of every
    kind, noun-like verbs ("建设" as in 新区建设), set phrases and abbreviations."""
    return kind in _NOUN_KINDS or kind.startswith("n") or kind == "vn"


def kind_weight(kind: str) -> float:
    if kind in _NOUN_KINDS:
        return 1.0
    if kind in _SEMI_KINDS:
        return 0.6
    return 0.35


class TermWeights:
    """idf of a term from the keyword index's document frequencies (no chunk text is scanned); a
    term the corpus never contains weighs most. Cached per store revision."""

    def __init__(self, keywords: KeywordIndex, glossary=None):
        self.keywords = keywords
        self.glossary = glossary
        self._revision: int | None = None
        self._size = 0
        self._df: dict[str, int] = {}
        self._composed: dict[str, re.Pattern[str] | None] = {}  # term -> its words found apart, or None

    def document_frequency(self, term: str) -> int:
        """Live chunks holding the term or one of its glossary variants; cached per store revision."""
        revision = self.keywords.revision()
        if revision != self._revision:
            self._revision, self._size, self._df = revision, self.keywords.size(), {}
        if term not in self._df:
            self._df[term] = self.keywords.document_frequency([term, *self._variants(term)])
        return self._df[term]

    def idf(self, term: str) -> float:
        df = self.document_frequency(term)
        return math.log(1 + (self._size + 1) / (df + 0.5))

    def known_share(self, info: QuestionInfo) -> float:
        """Weighted share (0..1) of the question's terms that some indexed passage contains: what keyword
        search can match at all. Everyday wording ("骗子电话") leaves most of the weight on words no
        report uses. 1 for a question without terms."""
        total = known = 0.0
        for term in info.terms:
            w = self.weight(term, info.term_kinds.get(term, "x"))
            total += w
            if self.document_frequency(term) > 0:
                known += w
        return known / total if total else 1.0

    def weight(self, term: str, kind: str) -> float:
        return self.idf(term) * kind_weight(kind)

    def coverage(self, info: QuestionInfo, text: str) -> float:
        """Share (0..1) of the question's weighted terms found in ``text``."""
        if not info.terms:
            return 0.0
        text = text.lower()
        total = found = 0.0
        for term in info.terms:
            w = self.weight(term, info.term_kinds.get(term, "x"))
            total += w
            if term in text or any(v in text for v in self._variants(term)):
                found += w
            elif self._composed_in(term, text):
                found += 0.8 * w
        return found / total if total else 0.0

    def _variants(self, term: str) -> list[str]:
        return self.glossary.variants(term) if self.glossary else []

    def _composed_in(self, term: str, text: str) -> bool:
        """A compound term whose own words appear close together and in order ("生态环境" in
        "…生态宜居环境…"), not scattered over the passage ("生态文化的保护……环境效益"): sharing
        characters is not sharing the meaning."""
        if term not in self._composed:
            self._composed[term] = self._composed_pattern(term)
        pattern = self._composed[term]
        return bool(pattern and pattern.search(text))

    def _composed_pattern(self, term: str) -> re.Pattern[str] | None:
        words = self.keywords.tokenizer.tokens(term)
        parts = [w for w in words if w != term and len(w) >= 2]
        # Parts must cover the whole term, or "养老院" would match "养老诈骗".
        covered = set()
        for w in parts:
            at = term.find(w)
            covered.update(range(at, at + len(w)))
        if len(parts) < 2 or len(covered) != len(term):
            return None
        return re.compile(f".{{0,{COMPOSED_GAP}}}".join(map(re.escape, parts)))
