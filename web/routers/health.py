"""``GET /healthz``: the app answers and the index is readable."""
from __future__ import annotations

from fastapi import APIRouter

from web.dependencies import BotDep

router = APIRouter(tags=["运维"])


@router.get("/healthz", summary="健康检查")
def healthz(bot: BotDep) -> dict:
    return {"status": "ok", "chunks": bot.components.store.count()}
