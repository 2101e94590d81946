"""``POST /api/ask``: one question, the same JSON as ``python -m bot ask --json``."""
from __future__ import annotations

from fastapi import APIRouter

from web.dependencies import BotDep
from web.schemas import AskRequest, AskResponse, history_of

router = APIRouter(tags=["问答"])


@router.post("/api/ask", response_model=AskResponse, summary="提问（与 python -m bot ask --json 相同）",
             responses={400: {"description": "问题为空、过长或含控制字符；请求格式不正确"},
                        413: {"description": "请求内容过大"}})
def ask(body: AskRequest, bot: BotDep) -> dict:
    return bot.ask(body.question, history_of(body.history), body.docs).to_dict()
