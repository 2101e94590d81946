"""Chat messages as the bot reads them: the text of a message, and the one history normaliser that
every way in (API, OpenAI endpoint, chat page) passes a conversation through."""
from __future__ import annotations

from bot.query import clean_text


def message_text(content) -> str:
    """OpenAI-style content is a string or a list of parts ({"type": "text", "text": ...}). Only text
    is read: any other part (a file, an image) counts as nothing."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(p) for p in content)
    return _part_text(content)


def _part_text(part) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return part["text"]
    return ""


def normalise_history(history, max_turns: int, max_chars: int | None = None) -> list[dict]:
    """Keep well-formed user/assistant messages of the last ``max_turns`` exchanges, as clean text.

    With ``max_chars`` at most that much text is kept, the most recent first: the oldest message kept
    loses its beginning, older ones are dropped.
    """
    messages: list[dict] = []
    for item in history or []:
        if isinstance(item, (list, tuple)) and len(item) == 2:  # [user, assistant] pairs
            messages.append({"role": "user", "content": message_text(item[0])})
            messages.append({"role": "assistant", "content": message_text(item[1])})
        elif isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            if (item.get("metadata") or {}).get("title"):
                continue  # UI side blocks (sources), not conversation
            messages.append({"role": item["role"], "content": message_text(item.get("content"))})
    user_positions = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if len(user_positions) > max_turns:
        messages = messages[user_positions[-max_turns]:]
    if max_chars is not None:
        messages = _most_recent_text(messages, max_chars)
    return [{"role": m["role"], "content": clean_text(m["content"])} for m in messages]


def _most_recent_text(messages: list[dict], max_chars: int) -> list[dict]:
    kept: list[dict] = []
    budget = max_chars
    for message in reversed(messages):
        if budget <= 0:
            break
        text = message["content"][-budget:]
        kept.append({**message, "content": text})
        budget -= len(text)
    return kept[::-1]
