"""Serve the bot on the web: ``report-qa serve`` and ``python app.py`` [--host H] [--port P] [--root-path /qa].

Loads the settings (``QA_*`` environment variables), opens the index (building it from the data
folder first, with progress, when it is empty), builds the web app once and serves it with uvicorn.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time


def _progress(started: float):
    def show(done: int, total: int, doc_id: str) -> None:
        end = "\n" if done >= total else ""
        print(f"\r正在建立索引：{done}/{total} 段文字（{doc_id}，{time.perf_counter() - started:.0f} 秒）",
              end=end, file=sys.stderr, flush=True)

    return show


def _hosts_message(settings) -> str:
    from web.security import allowed_hosts

    hosts = allowed_hosts(settings)
    if hosts == ["*"]:
        return (f"警告：正在监听 {settings.host or '所有地址'} 且未设置 QA_ALLOWED_HOSTS，任何主机名的请求都会被接受"
                "（可被 DNS 重绑定利用）。请把 QA_ALLOWED_HOSTS 设为用户访问本服务所用的域名或地址，多个用逗号分隔。")
    return f"只接受这些主机名的请求：{', '.join(hosts)}（用 QA_ALLOWED_HOSTS 修改）"


def _serve(settings) -> int:
    started = time.perf_counter()
    print("正在打开索引……", file=sys.stderr, flush=True)

    from bot.chain import build_bot
    from web.app import create_app

    bot = build_bot(settings, progress=_progress(started))
    app = create_app(bot, settings)
    settings.admin_token = None  # the web app keeps only digests of it
    print(_hosts_message(settings), file=sys.stderr, flush=True)
    print(f"准备就绪（{time.perf_counter() - started:.1f} 秒）：http://{settings.host}:{settings.port}"
          f"{settings.root_path.rstrip('/')}/", file=sys.stderr, flush=True)

    import uvicorn

    uvicorn.run(app, host=settings.host, port=settings.port, root_path=settings.root_path.rstrip("/"),
                log_level="info", proxy_headers=True, timeout_graceful_shutdown=5)
    return 0


def main(argv: list[str] | None = None, prog: str = "report-qa serve") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="工作报告问答：网页、HTTP 接口和 OpenAI 兼容接口")
    parser.add_argument("--host", help="listen address (default 127.0.0.1, QA_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, QA_PORT)")
    parser.add_argument("--root-path", help="public path prefix behind a reverse proxy, e.g. /qa (QA_ROOT_PATH)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from bot.settings import Settings
    from index.store import IndexCorruptError

    overrides = {"host": args.host, "port": args.port, "root_path": args.root_path}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        settings.admin_secret()  # an unreadable token file stops the start before the index is opened
    except (OSError, ValueError) as exc:
        print(f"无法读取管理口令文件 {settings.admin_token_file}：{exc}", file=sys.stderr, flush=True)
        return 2
    try:
        return _serve(settings)
    except IndexCorruptError as exc:  # one line and the repair command, no traceback
        print(exc.message_zh, file=sys.stderr, flush=True)
        return 2
