"""A small OpenAI-protocol embeddings server on 127.0.0.1 for the indexing tests.

Vectors are a hash of each text (deterministic, 32-d). The server keeps count of what it answers
(``answered``: passage texts; ``max_in_flight``: requests it was working on at once), and can be told
to hold passage requests after the next n (``stall_after``), to let the held ones go unanswered
(``drop_held``, for a client that was killed), to take its time (``delay``), or to fail requests
(``fail_next``).
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def vector(text: str, dims: int = 32) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    values = [b - 127.5 for b in digest[:dims]]
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


class EmbeddingServer:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay  # each request takes between half and one and a half times this long
        self.passages = 0  # passage requests received
        self.answered: Counter[str] = Counter()  # passage texts answered, with how often
        self.in_flight = 0
        self.max_in_flight = 0
        self.failed = 0
        self._failures: list[int] = []  # statuses for the next requests
        self._allowed: int | None = None
        self._epoch = 0
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # --- what the test tells it ----------------------------------------------------------------
    def stall_after(self, n: int | None) -> None:
        """Answer n more passage requests, then hold the rest (None: answer everything again)."""
        with self._lock:
            self._allowed = None if n is None else self.passages + n
            self._lock.notify_all()

    def wait_for_stall(self, timeout: float = 180.0) -> None:
        """Until a passage request is held back: the batches before it are embedded."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._allowed is not None and self.passages > self._allowed, timeout):
                raise AssertionError(f"the indexer made only {self.passages} passage requests")

    def drop_held(self) -> None:
        """The requests held now end without an answer (their client is gone) and count for nothing."""
        with self._lock:
            self._epoch += 1
            self._lock.notify_all()

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._failures = [status] * n

    # --- serving -------------------------------------------------------------------------------
    def _admit(self, input_type: str) -> bool:
        """False when the request was held and then dropped."""
        with self._lock:
            if input_type != "passage":
                return True
            self.passages += 1
            ticket, epoch = self.passages, self._epoch
            self._lock.notify_all()
            self._lock.wait_for(lambda: self._epoch != epoch or self._allowed is None or ticket <= self._allowed)
            return self._epoch == epoch

    def _answer(self, request: dict) -> tuple[int, dict] | None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay * random.uniform(0.5, 1.5))  # so answers come back out of order
            with self._lock:
                if self._failures:
                    self.failed += 1
                    status = self._failures.pop()
                    return status, {"error": {"message": "embedding backend unavailable", "type": "server_error"}}
            if not self._admit(request.get("input_type", "")):
                return None
            texts = request["input"]
            with self._lock:
                if request.get("input_type") == "passage":
                    self.answered.update(texts)
            data = [{"object": "embedding", "index": i, "embedding": vector(text)} for i, text in enumerate(texts)]
            return 200, {"object": "list", "data": data, "model": request["model"],
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = server._answer(request)
                if answer is None:
                    self.close_connection = True
                    return
                status, payload = answer
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client was killed while this request was held

            def log_message(self, *args) -> None:
                pass

        return Handler

    def __enter__(self) -> "EmbeddingServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.drop_held()
        self.stall_after(None)
        self._server.shutdown()
        self._server.server_close()
