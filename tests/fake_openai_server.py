"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, with scripted replies.

Tests queue what the next requests get: a text reply (plain JSON, or SSE chunks when the request asks to
stream), an HTTP error, a hang longer than the client's timeout, a body that is not the protocol, or a
stream that breaks off. Every request is recorded so tests can check what the client actually sent.
A request with nothing queued gets a 500 whose message says so.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Script:
    kind: str  # reply | status | hang | garbage | drop
    text: str = ""
    status: int = 200
    seconds: float = 0.0
    content_type: str = "application/json"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict = field(default_factory=dict)

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def content_of(self, role: str) -> list[str]:
        return [m.get("content") for m in self.messages if m.get("role") == role]

    @property
    def system(self) -> str:
        return "\n".join(self.content_of("system"))

    @property
    def last_user(self) -> str:
        users = self.content_of("user")
        return users[-1] if users else ""


class FakeOpenAIServer:
    def __init__(self, chunk_chars: int = 3, model: str = "fake-model"):
        self.chunk_chars = chunk_chars
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._scripts: deque[Script] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------------------------
    def reply(self, *texts: str) -> FakeOpenAIServer:
        """Answer the next requests with these texts, one request each."""
        return self._queue(*(Script("reply", text=t) for t in texts))

    def fail(self, status: int = 500, message: str = "internal error") -> FakeOpenAIServer:
        return self._queue(Script("status", text=message, status=status))

    def hang(self, seconds: float, then: str = "too late") -> FakeOpenAIServer:
        """Say nothing for ``seconds`` (longer than the client waits), then reply ``then``."""
        return self._queue(Script("hang", text=then, seconds=seconds))

    def garbage(self, body: str = "<html><body>502 Bad Gateway</body></html>",
                content_type: str = "text/html") -> FakeOpenAIServer:
        """Status 200 with a body that is not the protocol."""
        return self._queue(Script("garbage", text=body, content_type=content_type))

    def drop(self, text: str) -> FakeOpenAIServer:
        """Stream the first half of ``text`` and cut the connection mid-body."""
        return self._queue(Script("drop", text=text))

    def _queue(self, *scripts: Script) -> FakeOpenAIServer:
        with self._lock:
            self._scripts.extend(scripts)
        return self

    def _next_script(self) -> Script:
        with self._lock:
            if self._scripts:
                return self._scripts.popleft()
        return Script("status", text="no scripted reply left", status=500)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._scripts)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self._record({})
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": self.fake.model, "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._record({"_raw": raw.decode("utf-8", "replace")})
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        self._record(body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return

        script = self.fake._next_script()
        try:
            self._play(script, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up first, as a timing-out client does

    def _play(self, script: Script, body: dict) -> None:
        if script.kind == "status":
            self._send_json(script.status, {"error": {"message": script.text, "type": "server_error",
                                                      "code": script.status}})
        elif script.kind == "garbage":
            self._send_bytes(200, script.text.encode(), script.content_type)
        elif script.kind == "hang":
            if not self.fake._stopping.wait(script.seconds):
                self._reply(script.text, body)
        elif script.kind == "drop":
            self._stream(script.text, body, cut=True)
        else:
            self._reply(script.text, body)

    def _reply(self, text: str, body: dict) -> None:
        if body.get("stream"):
            self._stream(text, body)
            return
        self._send_json(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", self.fake.model),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": _usage(body, text),
        })

    def _stream(self, text: str, body: dict, cut: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        model = body.get("model", self.fake.model)

        def chunk(delta: dict, finish: str | None = None, **extra) -> dict:
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}

        size = max(1, self.fake.chunk_chars)
        pieces = [text[i:i + size] for i in range(0, len(text), size)]
        if cut:
            pieces = pieces[:max(1, len(pieces) // 2)]
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in pieces]
        for event in events:
            self._write_chunk(f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
        if cut:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # no terminating chunk: the body is visibly incomplete
            return
        self._write_chunk(f"data: {json.dumps(chunk({}, 'stop'), ensure_ascii=False)}\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {**chunk({}), "choices": [], "usage": _usage(body, text)}
            self._write_chunk(f"data: {json.dumps(usage, ensure_ascii=False)}\n\n")
        self._write_chunk("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict) -> None:
        self._send_bytes(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _record(self, body: dict) -> None:
        self.fake.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), body))


def _usage(body: dict, text: str) -> dict:
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    return {"prompt_tokens": prompt, "completion_tokens": len(text), "total_tokens": prompt + len(text)}
