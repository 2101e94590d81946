"""Write with the LLM: stream its answer through the figure guard; quote the report on any failure."""
from __future__ import annotations

import logging
from typing import Generator

from bot.figures import FigureGuard
from bot.llm import LLMAnswerer, LLMUnavailable
from bot.stages.understand import Question
from bot.turn import Timer
from bot.types import Answer

log = logging.getLogger(__name__)

LLM_FALLBACK_NOTICE = "（大模型服务暂时不可用，以下为报告原文摘录。）\n"


def stream_llm_answer(llm: LLMAnswerer, asked: Question, quoted: Answer,
                      timer: Timer) -> Generator[str, None, Answer]:
    """Yield the model's text as the guard releases it, then return the Answer. ``quoted`` is the
    extractive answer: its sources ground the model, its text stands in when the model fails."""
    guard = FigureGuard(quoted.sources)  # releases whole sentences with unsupported figures replaced
    shown = ""
    try:
        for delta in llm.stream(asked.for_writer, quoted.sources, asked.history):
            if "first_token" not in timer.timings:
                timer.lap("first_token")
            checked = guard.feed(delta)
            if checked:
                shown += checked
                yield checked
        rest = guard.finish()
        shown += rest
        if rest:
            yield rest
        if not shown.strip():
            raise LLMUnavailable("empty reply")
    except LLMUnavailable as exc:
        log.warning("LLM unavailable, falling back to extractive answer: %s", exc)
        text = LLM_FALLBACK_NOTICE + quoted.answer
        yield ("\n\n" if shown else "") + text
        return Answer(text, False, asked.text, quoted.sources)
    if guard.flagged:
        log.warning("figures not found in the cited sources were replaced: %s", guard.flagged)
    return Answer(shown, False, asked.text, quoted.sources)
