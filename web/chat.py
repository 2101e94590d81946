"""The chat handler as plain functions, testable without a server: one turn of questions and answers,
asking again, what a rating is about, and a conversation read back from the browser."""
from __future__ import annotations

import json
import logging
from typing import Iterator

from bot.messages import message_text, normalise_history
from bot.query import clean_text
from bot.types import Answer
from index.errors import UserFacingError
from web.answer_view import answer_markdown, md_escape, read_shown

log = logging.getLogger(__name__)

FAILURE_ZH = "抱歉，回答这个问题时出了点问题，请稍后再试。"
MAX_RESTORED_MESSAGES = 200  # a conversation read back from the browser is cut to its most recent messages
MAX_MESSAGE_CHARS = 20000  # and each message to this much (an answer with all its links is a few thousand)


# --- messages in and out ----------------------------------------------------------------
def _options(message: dict) -> list[dict]:
    """Suggested questions under an answer (Gradio ``options``), as clean text."""
    options = message.get("options")
    if not isinstance(options, list):
        return []
    values = [clean_text(str(o.get("value", ""))) for o in options[:5] if isinstance(o, dict)]
    return [{"value": v, "label": v} for v in values if v]


def text_only(messages: list[dict] | None) -> list[dict]:
    """The chat rebuilt from its text alone: whatever else a client put in it (files, components) is
    neither read nor sent back."""
    shown = []
    for message in list(messages or [])[-MAX_RESTORED_MESSAGES:]:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = message_text(message.get("content"))[:MAX_MESSAGE_CHARS]
        item = {"role": message["role"], "content": clean_text(text)}
        if message["role"] == "assistant" and _options(message):
            item["options"] = _options(message)
        shown.append(item)
    return shown


def to_history(messages: list[dict]) -> list[dict]:
    """The chat as the bot reads a history: the answers' text without links, folds or source lists."""
    messages = messages or []
    return [{**m, "content": read_shown(m["content"]).text}
            for m in normalise_history(messages, len(messages))]


def _assistant(text: str, suggestions: list[str] = ()) -> dict:
    message = {"role": "assistant", "content": text}
    if suggestions:
        message["options"] = [{"value": q, "label": q} for q in suggestions[:3]]
    return message


def shown_question(question: str, cap: int) -> str:
    return clean_text(question if len(question) <= cap else question[:cap] + "……")


# --- the chat handler -----------------------------------------------------------------
def chat_turn(bot, message, messages: list[dict] | None, docs: list[str] | None = None,
              viewer_base: str = "") -> Iterator[list[dict]]:
    """One question in the chat: yields the chat messages as the answer streams.

    The last yield holds the authoritative answer with its sources and suggested follow-ups. Bad input
    becomes a friendly Chinese reply; other failures are logged, never shown as a trace.
    """
    question = message_text(message)
    messages = text_only(messages)
    if not question.strip():
        yield messages
        return
    history = to_history(messages)
    shown = shown_question(question, bot.settings.max_question_chars)
    turn = messages + [{"role": "user", "content": md_escape(shown)}]
    yield turn
    streamed, answer = "", None
    try:
        for item in bot.stream(question, history, docs or None):
            if isinstance(item, Answer):
                answer = item
            else:
                streamed += item
                yield turn + [_assistant(md_escape(streamed))]
    except UserFacingError as exc:
        yield turn + [_assistant(md_escape(exc.message_zh))]
        return
    except Exception:
        log.exception("chat turn failed")
        yield turn + [_assistant(FAILURE_ZH)]
        return
    if answer is None:
        yield turn + [_assistant(FAILURE_ZH)]
        return
    rewritten = answer.question if was_rewritten(question, answer.question) else ""
    yield turn + [_assistant(answer_markdown(answer, viewer_base, rewritten), answer.suggestions)]


def was_rewritten(asked: str, searched: str) -> bool:
    strip = str.maketrans("", "", " \t\n，。？！,.?!、；;：:“”\"'‘’")
    return asked.translate(strip) != searched.translate(strip)


def last_question(messages: list[dict]) -> tuple[str, list[dict]]:
    """The last question asked and the chat before it: what 重新回答 asks again."""
    messages = text_only(messages)
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            return read_shown(messages[i]["content"]).text, messages[:i]
    return "", messages


def feedback_of(messages: list[dict], index: int) -> tuple[str, str, list[dict]]:
    """(question, answer, sources) for the assistant message at ``index``: what a rating is about."""
    messages = text_only(messages)
    if not 0 <= index < len(messages) or messages[index]["role"] != "assistant":
        return "", "", []
    shown = read_shown(messages[index]["content"])
    question = next((read_shown(m["content"]).text for m in reversed(messages[:index]) if m["role"] == "user"), "")
    return question, shown.text, shown.sources


def restored(payload: str) -> list[dict]:
    """A conversation the browser kept (JSON of chat messages), as clean chat messages."""
    try:
        messages = json.loads(payload or "[]")
    except ValueError:
        return []
    return text_only(messages if isinstance(messages, list) else [])
