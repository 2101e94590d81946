"""The OpenAI-compatible endpoint: ``GET /v1/models`` and ``POST /v1/chat/completions``, plain or streamed
as server-sent events. Sources travel in a ``references`` field; errors in OpenAI's error object."""
from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from typing import Iterator

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from bot.messages import message_text
from bot.types import Answer
from web.dependencies import BotDep
from web.errors import openai_error
from web.schemas import MODEL_ID, ChatCompletionRequest, history_of

log = logging.getLogger(__name__)

router = APIRouter(tags=["OpenAI 兼容"])
STREAM_FAILED_ZH = "回答时出错，请稍后再试"


@router.get("/v1/models")
def models() -> dict:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "report-qa"}]}


@router.post("/v1/chat/completions", summary="OpenAI 兼容的对话接口；来源在 references 字段")
async def chat_completions(body: ChatCompletionRequest, bot: BotDep):
    last = body.messages[-1]
    if last.role != "user":
        return openai_error(400, "最后一条消息应当是用户的问题")
    question, history = message_text(last.content), history_of(body.messages[:-1])
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    if not body.stream:
        answer = await run_in_threadpool(bot.ask, question, history, body.docs)
        return {**base, "object": "chat.completion", **_extras(answer),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer.answer}}]}
    items = bot.stream(question, history, body.docs)
    first = await run_in_threadpool(next, items)  # bad input fails here, before any byte is sent
    return StreamingResponse(completion_stream(itertools.chain([first], items), base),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _extras(answer: Answer) -> dict:
    return {"references": [s.to_dict() for s in answer.sources], "question": answer.question,
            "refused": answer.refused}


def sse(payload: dict | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def completion_stream(items: Iterator, base: dict) -> Iterator[bytes]:
    """SSE chunks in the OpenAI format; the last carries ``references`` and the authoritative ``answer``."""
    def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
        return sse({**base, "object": "chat.completion.chunk", **extra,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    streamed, answer = "", None
    try:
        for item in items:
            if isinstance(item, Answer):
                answer = item
            elif item:
                streamed += item
                yield chunk({"content": item})
    except Exception:
        log.exception("streamed completion failed")
        yield sse({"error": {"message": STREAM_FAILED_ZH, "type": "server_error", "param": None,
                             "code": "server_error"}})
        yield sse("[DONE]")
        return
    if answer is not None:
        tail = answer.answer[len(streamed):] if answer.answer.startswith(streamed) else ""
        if tail:
            yield chunk({"content": tail})
        yield chunk({}, "stop", answer=answer.answer, **_extras(answer))
    yield sse("[DONE]")
