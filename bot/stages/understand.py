"""Understand the question: normalise what was typed, read it, rewrite a follow-up to stand alone."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from bot.english import EnglishReader, asks_broadly
from bot.followup import resolve_followup
from bot.llm import LLMUnavailable
from bot.messages import normalise_history
from bot.query import QuestionInfo, analyse, is_english, normalise_question
from bot.settings import Settings
from bot.types import InputError
from index.keyword import Tokenizer

log = logging.getLogger(__name__)

Condense = Callable[[str, list[dict]], str]  # (follow-up, history) -> a standalone question


@dataclass(frozen=True)
class Question:
    text: str  # normalised, a follow-up rewritten to stand alone
    info: QuestionInfo
    history: list[dict]  # the conversation as clean text, capped
    searched: str = ""  # what retrieval embeds and matches: the text without the words that chose the reports
    typed: str = ""  # the question as typed, when ``text`` is what it was read as (an English question)

    @property
    def for_writer(self) -> str:
        """What a writer (the LLM) is asked: the user's own question, standalone."""
        return self.typed or self.text

    @property
    def search_text(self) -> str:
        return self.searched or self.text


class QuestionReader:
    def __init__(self, settings: Settings, tokenizer: Tokenizer, condense: Condense | None = None,
                 english: EnglishReader | None = None, places: Callable[[], Iterable[str]] = tuple):
        self.settings = settings
        self.tokenizer = tokenizer
        self.condense = condense  # an LLM's rewrite of follow-ups, preferred to the rule-based one
        self.english = english  # English questions as Chinese words (None: searched by meaning alone)
        self.places = places  # the places the library's reports are about, as questions name them

    def read(self, question: object, history: list | None) -> tuple[str, list[dict]]:
        """The question and the history as clean text; raises InputError with a Chinese message."""
        text = normalise_question(question, self.settings.max_question_chars)
        return text, normalise_history(history, self.settings.history_turns, self.settings.max_history_chars)

    def understand(self, text: str, history: list[dict]) -> Question:
        typed = text
        chinese = self.english.to_chinese(text) if self.english is not None and is_english(text) else ""
        if chinese:
            # Read, searched and judged as the Chinese words a dictionary gives for it; kept as typed
            # (and searched by meaning alone) when it knows none of them.
            text = chinese
        info = analyse(text, self.tokenizer)
        if history:
            rewritten = self._rewrite(text, info, history)
            if rewritten != text:
                text, info = rewritten, analyse(rewritten, self.tokenizer)
        if chinese:
            info = replace(info, translated=True, broad=info.broad or asks_broadly(typed))
        return Question(text, info, history, typed=typed if chinese else "")

    def _rewrite(self, text: str, info: QuestionInfo, history: list[dict]) -> str:
        tokenize = lambda q: analyse(q, self.tokenizer).tokens  # noqa: E731
        rewritten = resolve_followup(text, info.tokens, history, tokenize, self.places())
        if rewritten != text and self.condense is not None:
            try:
                condensed = self.condense(text, history)
                if condensed:
                    return normalise_question(condensed, self.settings.max_question_chars)
            except LLMUnavailable as exc:
                log.warning("condense failed, using rule-based rewrite: %s", exc)
            except Exception as exc:  # a bad condensed question must not break the turn
                log.warning("condensed question rejected: %s", exc)
        return self._within_cap(rewritten, text) if rewritten != text else text

    def _within_cap(self, rewritten: str, typed: str) -> str:
        """A rewritten question obeys the same rules as a typed one: it is cut to the length cap (the
        topic it carries comes from the history, which the user did not type just now)."""
        cap = self.settings.max_question_chars
        try:
            return normalise_question(rewritten[:cap], cap)
        except InputError:
            return typed
