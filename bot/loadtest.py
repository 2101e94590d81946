"""python -m bot.loadtest --url http://127.0.0.1:7860 --clients 1,8,32,64 --seconds 60 [--questions FILE.jsonl]

Load on ``POST /api/ask`` of a running app on this machine: for each concurrency level, that many clients
ask questions back to back (cycled from a fixed list) for the given time, then a table of requests,
answers per second, p50/p95 latency and errors (non-200 answers and failed requests).
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.bench import SAMPLE_QUESTIONS, percentile

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
BUILTIN_QUESTIONS = SAMPLE_QUESTIONS
HEADER = f"{'clients':>7}  {'requests':>8}  {'answers/s':>9}  {'p50 ms':>8}  {'p95 ms':>8}  {'errors':>6}"


@dataclass
class LevelResult:
    clients: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    def row(self) -> str:
        rate = len(self.latencies_ms) / self.seconds if self.seconds else 0.0
        p50 = statistics.median(self.latencies_ms) if self.latencies_ms else 0.0
        p95 = percentile(self.latencies_ms, 0.95) if self.latencies_ms else 0.0
        return f"{self.clients:>7}  {self.requests:>8}  {rate:>9.1f}  {p50:>8.0f}  {p95:>8.0f}  {self.errors:>6}"


class Target:
    """``POST /api/ask`` of one app; only this machine may be loaded."""

    def __init__(self, url: str, timeout: float):
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in LOCAL_HOSTS:
            raise ValueError(f"refusing to load {url!r}: only http://127.0.0.1, http://localhost or "
                             "http://[::1] targets are allowed")
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = parts.path.rstrip("/") + "/api/ask"
        self.timeout = timeout

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)


def _messages(history: list) -> list[dict]:
    """Question files may give earlier turns as [question, answer] pairs; the API takes messages."""
    messages = []
    for turn in history:
        if isinstance(turn, (list, tuple)) and len(turn) == 2:
            messages += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
        else:
            messages.append(turn)
    return messages


def load_questions(path: Path | None) -> list[dict]:
    """Request bodies: the ``q`` (and ``history``) of each line of a JSONL file, or built-in questions."""
    if path is None:
        return [{"question": q} for q in BUILTIN_QUESTIONS]
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bodies = [{"question": item["q"], "history": _messages(item.get("history") or [])} for item in items if item.get("q")]
    if not bodies:
        raise ValueError(f"no questions (a \"q\" field per line) in {path}")
    return bodies


def ask(connection: http.client.HTTPConnection, target: Target, body: bytes) -> int:
    connection.request("POST", target.path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status


def _client(target: Target, bodies, stop_at: float, budget, result: LevelResult, lock: threading.Lock) -> None:
    connection = target.connect()
    try:
        while time.monotonic() < stop_at and next(budget, None) is not None:
            body = next(bodies)
            started = time.perf_counter()
            try:
                status = ask(connection, target, body)
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = target.connect()
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    result.latencies_ms.append(elapsed_ms)
                else:
                    result.errors += 1
    finally:
        connection.close()


def run_level(target: Target, bodies: list[bytes], clients: int, seconds: float, max_requests: int) -> LevelResult:
    """``clients`` threads asking back to back until the time or the request budget runs out."""
    result, lock = LevelResult(clients), threading.Lock()
    shared_bodies = _shared_cycle(bodies)
    budget = SharedIterator(range(max_requests))
    started = time.monotonic()
    threads = [threading.Thread(target=_client, args=(target, shared_bodies, started + seconds, budget, result, lock),
                                daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


class SharedIterator:
    """An iterator several threads can share."""

    def __init__(self, iterable):
        self._items, self._lock = iter(iterable), threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._items)


def _shared_cycle(items: list) -> SharedIterator:
    return SharedIterator(itertools.cycle(items))


def parse_levels(text: str) -> list[int]:
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("--clients takes positive integers, e.g. 1,8,32,64")
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860", help="the app (with its root path, if any)")
    parser.add_argument("--clients", type=parse_levels, default=[1, 8, 32, 64], help="concurrency levels, e.g. 1,8,32,64")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each level")
    parser.add_argument("--max-requests", type=int, default=100_000, help="request cap per level")
    parser.add_argument("--questions", type=Path, help="JSONL with a \"q\" per line (default: a few built-in questions)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one request may take")
    args = parser.parse_args(argv)
    try:
        target = Target(args.url, args.timeout)
        bodies = [json.dumps(b, ensure_ascii=False).encode() for b in load_questions(args.questions)]
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"POST {args.url.rstrip('/')}/api/ask: {len(bodies)} questions, {args.seconds:g} s per level")
    print(HEADER)
    for clients in args.clients:
        print(run_level(target, bodies, clients, args.seconds, args.max_requests).row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
