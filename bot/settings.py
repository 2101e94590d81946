"""All settings in one typed object; each field can be set by a ``QA_<FIELD>`` environment variable."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import NoDecode

from index.settings import IndexSettings


class Settings(IndexSettings):
    # Answering
    answer_mode: Literal["extractive", "llm"] = "extractive"
    candidates_k: int = 20  # per retriever, before fusion
    max_question_chars: int = 500
    history_turns: int = 4  # user+assistant pairs kept for follow-ups
    max_history_chars: int = 4000  # history text kept for follow-ups, most recent first
    # The gate's model for Chinese questions is data (bot/fitted_weights.json, `python -m bot.calibrate`);
    # for English questions, how far the best passage's similarity stands above the next ones.
    refuse_dense_gap: float = 0.014
    max_report_groups: int = 4  # reports an answer to a question naming none may be grouped from

    # Optional LLM behind any OpenAI-compatible server (vLLM, Ollama, llama.cpp server...)
    llm_base_url: str | None = None
    llm_model: str = "qwen2.5-7b-instruct"
    llm_api_key: str = "not-needed"
    llm_timeout: float = 30.0
    llm_temperature: float = 0.1
    llm_max_tokens: int = 800

    # Web app
    host: str = "127.0.0.1"
    port: int = 7860
    root_path: str = ""
    concurrency: int = 8
    admin_token: str | None = None  # document management is on only when an admin token is set
    admin_token_file: Path | None = None  # read the token from a file, so it is not in the environment
    app_password: str | None = None  # optional login for the whole app (user "admin" unless app_user)
    app_user: str = "admin"
    proxy_user_header: str | None = None  # e.g. X-Remote-User set by a trusted reverse proxy
    cors_origins: Annotated[list[str], NoDecode] = []  # NoDecode: the validator below reads the env value
    frame_ancestors: Annotated[list[str], NoDecode] = ["'self'"]
    max_upload_mb: float = 20.0
    max_request_kb: int = 1024  # JSON requests (questions, chat events); uploads get max_upload_mb
    # Host names the app answers to (DNS rebinding); empty: the listen host and localhost, or any host
    # when listening on 0.0.0.0.
    allowed_hosts: Annotated[list[str], NoDecode] = []
    feedback_db: Path | None = None  # the 👍/👎 store (SQLite); None: <index_dir>/feedback.sqlite3

    @field_validator("cors_origins", "frame_ancestors", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value):
        # Accept "a,b" from the environment as well as JSON lists.
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def feedback_path(self) -> Path:
        return Path(self.feedback_db) if self.feedback_db else Path(self.index_dir) / "feedback.sqlite3"

    def admin_secret(self) -> str | None:
        """The admin token: from ``admin_token_file`` when set (it keeps the token out of the process
        environment), else ``admin_token``. Raises OSError or ValueError when the file is unusable."""
        if self.admin_token_file:
            token = Path(self.admin_token_file).read_text(encoding="utf-8").strip()
            if not token:
                raise ValueError(f"admin token file {self.admin_token_file} is empty")
            return token
        return self.admin_token or None
