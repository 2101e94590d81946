"""The JSON the HTTP API reads and writes. A source's shape comes from ``bot.types.Source`` itself."""
from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from bot.types import Source

MODEL_ID = "report-qa"
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _refuse_surrogates(value: Any) -> Any:
    """Lone surrogates ("\\ud800") pass JSON parsing but are not text: refuse them with the request."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            raise ValueError("含有无法识别的字符（孤立的代理字符）")
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


def model_of(cls, name: str, leave_out: set[str]) -> type[BaseModel]:
    """A response model with the fields of the dataclass ``cls``, so the shape is defined once."""
    hints = get_type_hints(cls)
    return create_model(name, **{f.name: (hints[f.name], ...) for f in fields(cls) if f.name not in leave_out})


class TextRequest(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        return _refuse_surrogates(data)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


def history_of(messages: list[ChatMessage]) -> list[dict]:
    """The messages as plain dicts; the bot normalises and caps them (bot.messages.normalise_history)."""
    return [m.model_dump(include={"role", "content"}) for m in messages]


DocsFilter = Field(None, max_length=1000, description="只在这些报告中回答（文档 ID，见 /api/documents）；不填为全部报告")


class AskRequest(TextRequest):
    question: str = Field(description="用户的问题")
    history: list[ChatMessage] = Field(default_factory=list, max_length=200,
                                       description="此前的对话，OpenAI 格式 {role, content}")
    docs: list[str] | None = DocsFilter


# ``cited`` (the sentences the answer quotes) only marks them on the chat page.
SourceOut = model_of(Source, "SourceOut", leave_out={"cited"})


class AskResponse(BaseModel):
    answer: str
    refused: bool
    question: str = Field(description="实际检索的问题：规范化后的，追问改写后的")
    sources: list[SourceOut]
    timings_ms: dict[str, float]
    suggestions: list[str] = Field(default_factory=list, description="可以接着问的问题")


class ChatCompletionRequest(TextRequest):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens... are accepted and ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    docs: list[str] | None = DocsFilter


class SessionRequest(TextRequest):
    token: str = Field(max_length=1000, description="管理口令")
