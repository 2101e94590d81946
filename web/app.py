"""The web app: the Gradio chat pages mounted on FastAPI, the HTTP API and the OpenAI-compatible endpoint.

Routes: ``/`` chat page, ``/embed/`` compact chat for intranet pages, ``/gradio.js`` the ``<gradio-app>``
web component served locally (web/pages.py); ``POST /api/ask`` (web/routers/ask.py); ``/api/documents``
and ``POST /api/admin/session`` (web/routers/documents.py); ``/api/feedback``, its CSV and the admin page
``/admin/feedback`` (web/routers/feedback.py); ``/widget.js`` and ``/embed/ping`` (web/routers/widget.py);
``POST /v1/chat/completions`` (plain and SSE) and ``GET /v1/models`` (web/routers/openai.py); ``/healthz``;
OpenAPI docs at ``/docs`` and ``/redoc`` (assets served locally). The guards in front of all of it are in
web/security.py and web/auth.py; every error is answered by web/errors.py.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from web.auth import AdminGate
from web.documents import Library
from web.errors import add_error_handlers, unknown_routes
from web.feedback import FeedbackStore
from web.pages import mount_pages
from web.pages import router as pages_router
from web.routers import ask, documents, feedback, health, openai, widget
from web.security import add_guards, web_cache_dir


def create_app(bot, settings=None, *, ui: bool = True) -> FastAPI:
    """Build the whole web app around one bot; ``ui=False`` leaves out the Gradio pages (API only)."""
    settings = settings or bot.settings
    library = Library(bot.components, settings)
    gate = AdminGate(settings.admin_secret())
    # FastAPIOffline serves the Swagger UI and ReDoc assets itself: intranets often reach no CDN.
    app = FastAPIOffline(title="工作报告问答 API", version="0.1.0",
                         description="根据已收录的工作报告回答问题，答案中的 [n] 对应 sources/references 中的原文。")
    app.state.bot, app.state.library, app.state.admin, app.state.settings = bot, library, gate, settings
    app.state.web_cache = web_cache_dir(settings)
    app.state.feedback = FeedbackStore(settings.feedback_path())
    add_guards(app, settings, gate)
    add_error_handlers(app)
    for router in (ask.router, openai.router, documents.router, feedback.router, widget.router, health.router,
                   pages_router):
        app.include_router(router)
    app.include_router(unknown_routes)  # after every real route, before the pages mounted at "/"
    if ui:
        mount_pages(app, bot, library, settings, gate)
    return app
