"""python -m bot ask "问题" [--json] [--history FILE] [--docs ID ...]"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.types import InputError


def load_history(path: Path | None) -> list[dict]:
    if path is None:
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(m, dict) and "role" in m and "content" in m for m in data):
        raise ValueError(f"{path}: history must be a JSON list of {{\"role\", \"content\"}} objects")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Ask the report bot a question.")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the full answer as JSON")
    ask.add_argument("--history", type=Path, help="JSON file: earlier turns as [{\"role\", \"content\"}, ...]")
    ask.add_argument("--docs", nargs="+", metavar="ID", help="answer from these documents only (ids from `python -m index list`)")
    args = parser.parse_args(argv)

    from bot.chain import build_bot
    from bot.settings import Settings

    try:
        history = load_history(args.history)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bot = build_bot(Settings())
    try:
        answer = bot.ask(args.question, history, args.docs)
    except InputError as exc:
        print(f"error: {exc.message_zh}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(answer.answer)
    if answer.question != args.question.strip():
        print(f"\n（按“{answer.question}”理解）")
    if answer.sources:
        print("\n来源：")
        for source in answer.sources:
            print(f"[{source.n}] 《{source.title}》 · {source.section or '（开头）'} · {source.start}-{source.end}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
