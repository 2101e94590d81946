"""Optional answering through any OpenAI-compatible chat server, grounded in the retrieved passages.

Every failure of the server (refused connection, timeout, HTTP error, a reply that is not the protocol or
is empty) surfaces as one exception, ``LLMUnavailable``, so the caller can fall back to the extractive
answer. The answer text is returned as the model wrote it: checking its figures is ``bot.figures``' job.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Iterator

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bot.messages import message_text
from index.errors import UserFacingError
from prompts import PromptTemplateSpec, load_prompt

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from bot.settings import Settings
    from bot.types import Source

log = logging.getLogger(__name__)

ANSWER_VARIABLES = frozenset({"question", "context"})
CONDENSE_VARIABLES = frozenset({"history", "question"})

# The context block's delimiters must not be forgeable from inside a document.
_DELIMITERS = re.compile(r"<{3,}|>{3,}")
_THINK_BLOCK = re.compile(r"^\s*<think>.*?(</think>|$)", re.DOTALL)
_QUOTES = "\"'“”‘’「」『』《》`"
_CONDENSE_PREFIX = re.compile(
    r"^(?:改写后的)?(?:独立|完整|改写后的?)?问题\s*[:：]\s*|^(?:standalone question|question|rewritten)\s*[:：]\s*",
    re.IGNORECASE)


class LLMUnavailable(UserFacingError, RuntimeError):
    """The chat server could not give a usable reply; answer extractively instead."""

    message_zh = "大模型服务暂不可用"


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """A chat model for the configured server, or None when no server is configured."""
    if not settings.llm_base_url:
        return None
    from langchain_openai import ChatOpenAI

    # max_retries=0: a dead server should cost one timeout, not several, before the fallback.
    # The client sends the cap as `max_completion_tokens`; Ollama and llama.cpp's server read `max_tokens`.
    return ChatOpenAI(base_url=settings.llm_base_url, api_key=settings.llm_api_key, model=settings.llm_model,
                      timeout=settings.llm_timeout, max_retries=0, temperature=settings.llm_temperature,
                      max_tokens=settings.llm_max_tokens, use_responses_api=False,
                      extra_body={"max_tokens": settings.llm_max_tokens})


def format_context(sources: list[Source]) -> str:
    """``[n] 《doc》 section`` then the passage, for each source; delimiter look-alikes are defused."""
    blocks = []
    for source in sources:
        header = f"[{source.n}] 《{source.doc}》"
        if source.section:
            header += f" {source.section}"
        blocks.append(_DELIMITERS.sub(_defuse, f"{header}\n{source.text.strip()}"))
    return "\n\n".join(blocks)


def _defuse(match: re.Match) -> str:
    return match.group().replace("<", "＜").replace(">", "＞")


def history_messages(history: list[dict]) -> list[BaseMessage]:
    """User and assistant turns only: a client cannot smuggle a system message in through history."""
    messages: list[BaseMessage] = []
    for turn in history or []:
        role, text = turn.get("role"), message_text(turn.get("content")).strip()
        if not text:
            continue
        if role == "user":
            messages.append(HumanMessage(text))
        elif role == "assistant":
            messages.append(AIMessage(text))
    return messages


def _history_text(history: list[dict]) -> str:
    lines = []
    for message in history_messages(history):
        speaker = "用户" if isinstance(message, HumanMessage) else "助手"
        lines.append(f"{speaker}：{message.content}")
    return "\n".join(lines)


class LLMAnswerer:
    """Grounded answers and follow-up rewriting through a LangChain chat model."""

    def __init__(self, chat_model: BaseChatModel, answer_prompt: PromptTemplateSpec | None = None,
                 condense_prompt: PromptTemplateSpec | None = None, max_condensed_chars: int = 200):
        self.chat_model = chat_model
        self.answer_prompt = answer_prompt or load_prompt("answer")
        self.condense_prompt = condense_prompt or load_prompt("condense")
        _require_variables(self.answer_prompt, ANSWER_VARIABLES)
        _require_variables(self.condense_prompt, CONDENSE_VARIABLES)
        self.max_condensed_chars = max_condensed_chars

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMAnswerer | None:
        chat_model = make_chat_model(settings)
        return cls(chat_model) if chat_model is not None else None

    def answer_messages(self, question: str, sources: list[Source], history: list[dict]) -> list[BaseMessage]:
        prompt = self.answer_prompt.render(question=question, context=format_context(sources))
        return [SystemMessage(prompt.system), *history_messages(history), HumanMessage(prompt.user)]

    def stream(self, question: str, sources: list[Source], history: list[dict]) -> Iterator[str]:
        """Text deltas as the server produces them. May raise ``LLMUnavailable`` after some deltas."""
        messages = self.answer_messages(question, sources, history)
        produced = False
        for delta in _skip_think(self._deltas(messages)):
            produced = produced or bool(delta.strip())
            yield delta
        if not produced:
            raise LLMUnavailable("the server streamed an empty reply")

    def answer(self, question: str, sources: list[Source], history: list[dict]) -> str:
        return self._complete(self.answer_messages(question, sources, history))

    def condense(self, question: str, history: list[dict]) -> str:
        """The follow-up rewritten as a standalone question; the question itself if the rewrite is unusable."""
        history_text = _history_text(history)
        if not history_text:
            return question
        prompt = self.condense_prompt.render(history=history_text, question=question)
        reply = self._complete([SystemMessage(prompt.system), HumanMessage(prompt.user)], allow_empty=True)
        return self._clean_condensed(reply) or question

    def _clean_condensed(self, reply: str) -> str:
        lines = [line.strip() for line in reply.splitlines() if line.strip()]
        if not lines:
            return ""
        text = lines[0]
        for _ in range(2):
            text = _CONDENSE_PREFIX.sub("", text).strip().strip(_QUOTES).strip()
        if len(lines) > 3 or len(text) > self.max_condensed_chars:
            # An answer or an essay rather than a question.
            log.warning("condense reply discarded (%d lines, %d chars)", len(lines), len(text))
            return ""
        return text

    def _complete(self, messages: list[BaseMessage], allow_empty: bool = False) -> str:
        try:
            reply = self.chat_model.invoke(messages)
            text = reply.text if isinstance(reply, BaseMessage) else ""
        except Exception as exc:  # noqa: BLE001 - any client or protocol failure means "no usable reply"
            raise _unavailable(exc) from exc
        text = _THINK_BLOCK.sub("", text).strip()
        if not text and not allow_empty:
            raise LLMUnavailable("the server returned an empty reply")
        return text

    def _deltas(self, messages: list[BaseMessage]) -> Iterator[str]:
        try:
            for chunk in self.chat_model.stream(messages):
                if text := chunk.text:
                    yield text
        except Exception as exc:  # noqa: BLE001
            raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> LLMUnavailable:
    log.warning("LLM call failed: %s: %s", type(exc).__name__, exc)
    return LLMUnavailable(f"{type(exc).__name__}: {exc}")


def _skip_think(deltas: Iterator[str]) -> Iterator[str]:
    """Drop a leading ``<think>...</think>`` block that reasoning models put before the answer."""
    state, held = "head", ""  # head: undecided; think: inside the block; trim: after it; pass
    for delta in deltas:
        if state == "pass":
            yield delta
            continue
        held += delta
        if state == "head":
            start = held.lstrip()
            if "<think>".startswith(start):
                continue  # too short to tell
            state = "think" if start.startswith("<think>") else "pass"
            if state == "pass":
                yield held
                continue
        if state == "think":
            end = held.find("</think>")
            if end < 0:
                continue
            held, state = held[end + len("</think>"):], "trim"
        held = held.lstrip()
        if held:
            yield held
            state = "pass"
    if state == "head" and held.strip():
        yield held


def _require_variables(prompt: PromptTemplateSpec, supplied: frozenset[str]) -> None:
    if set(prompt.variables) != supplied:
        raise ValueError(f"prompt {prompt.name!r} declares {sorted(prompt.variables)}, "
                         f"but the answerer supplies {sorted(supplied)}")
