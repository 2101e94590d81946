"""python -m bot.bench [--questions FILE.jsonl] [--rounds N] [--scoped] | --library N[,N...] [...]

Cold start (imports, model load, index open), warm p50/p95 of retrieval and of the full answer over
the questions (a JSONL file with a "q" per line, or a few sample questions), and the process's peak memory.
``--scoped`` asks each item with its report chosen, as bot.eval does. ``--library`` runs the library
scale benchmark instead (bot/library_bench.py; ``--library 10 --help`` lists its options).
"""
from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


SAMPLE_QUESTIONS = ["上半年做了哪些工作？", "下半年有哪些工作计划？", "生态环境方面做了什么？", "明年有什么安排？"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg.startswith(("--library", "--real")) for arg in argv):
        from bot import library_bench

        return library_bench.main(argv)
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, help="JSONL with a \"q\" per line (default: a few sample questions)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--scoped", action="store_true",
                        help="ask each item with its report chosen (docs), as bot.eval does")
    args = parser.parse_args(argv)

    from bot.chain import build_bot
    from bot.eval import item_docs, load_items
    from bot.settings import Settings

    build_started = time.perf_counter()
    bot = build_bot(Settings())
    ready = time.perf_counter()
    items = load_items(args.questions) if args.questions else [{"q": q} for q in SAMPLE_QUESTIONS]

    def docs_of(item: dict) -> list[str] | None:
        return item_docs(item) if args.scoped else None

    first = bot.ask(items[0]["q"], items[0].get("history"), docs_of(items[0]))  # first answer after start, still "cold"
    first_ms = first.timings_ms["total"]

    retrieval, full = [], []
    for _ in range(args.rounds):
        for item in items:
            t0 = time.perf_counter()
            bot.prepare(item["q"], item.get("history"), docs_of(item))
            t1 = time.perf_counter()
            bot.ask(item["q"], item.get("history"), docs_of(item))
            t2 = time.perf_counter()
            retrieval.append((t1 - t0) * 1000)
            full.append((t2 - t1) * 1000)
    result = {
        "questions": len(items), "rounds": args.rounds, "scoped": args.scoped, "chunks": bot.components.store.count(),
        "cold_start_s": round(ready - _STARTED, 2), "build_bot_s": round(ready - build_started, 2),
        "first_answer_ms": round(first_ms, 1),
        "retrieval_ms": {"p50": round(statistics.median(retrieval), 1), "p95": round(percentile(retrieval, 0.95), 1)},
        "answer_ms": {"p50": round(statistics.median(full), 1), "p95": round(percentile(full, 0.95), 1)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"index: {result['chunks']} chunks; {len(items)} questions x {args.rounds} rounds")
        print(f"cold start (imports + model load + index open): {result['cold_start_s']} s "
              f"(build_bot {result['build_bot_s']} s); first answer {result['first_answer_ms']} ms")
        print(f"retrieval   p50 {result['retrieval_ms']['p50']} ms   p95 {result['retrieval_ms']['p95']} ms")
        print(f"full answer p50 {result['answer_ms']['p50']} ms   p95 {result['answer_ms']['p95']} ms")
        print(f"peak memory {result['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
