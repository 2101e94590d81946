"""The portal origins the app lets in: ``QA_CORS_ORIGINS`` (who may call it cross-origin, the
``<gradio-app>`` component) and ``QA_FRAME_ANCESTORS`` (who may frame it: the iframe and the widget).

Read once at startup. A browser sends an origin as ``scheme://host[:port]`` in lower case, without a
default port or a trailing slash, and compares it character by character: a value written any other
way ("http://127.0.0.1:8899/") would never match. So values are normalised to that form, and values
that can never match (no scheme, a path, a wildcard where none is allowed) are dropped; the log warns
about both at startup, instead of the browser failing with only a console message.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_HOST = re.compile(r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")
_BAD_CHARACTERS = re.compile(r"[\s;,'\"<>\\]")
_KEYWORDS = {"'self'", "'none'"}
_BARE_KEYWORDS = {"self": "'self'", "none": "'none'"}  # shells often eat the quotes of 'self'


class OriginError(ValueError):
    """A value that can never match a browser's origin; str() says why (for the log)."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lower case; "*.example.gov" for a wildcard; IPv6 in brackets
    port: str  # "" for the scheme's default port; "*" for any port

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}{':' + self.port if self.port else ''}"


def _host_and_port(netloc: str) -> tuple[str, str]:
    if netloc.startswith("["):
        host, _, rest = netloc.partition("]")
        return host + "]", rest.removeprefix(":")
    host, _, port = netloc.partition(":")
    return host, port


def _ascii_host(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise OriginError("invalid host name") from exc


def parse_origin(value: str, wildcard_host: bool = False) -> Origin:
    """``scheme://host[:port]`` with at most a trailing slash; raises OriginError for anything else."""
    text = value.strip().rstrip("/")
    if not text or _BAD_CHARACTERS.search(text):
        raise OriginError("empty or contains spaces, quotes or separators")
    if "://" not in text:
        raise OriginError("no scheme: write it as https://host or http://host:port")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise OriginError("only http:// and https:// origins are supported")
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise OriginError("an origin has no path, query or user name: keep only scheme://host[:port]")
    host, port = _host_and_port(parts.netloc.lower())
    host = _ascii_host(host)
    if not (_HOST.match(host) or _IPV6.match(host)) or (host.startswith("*.") and not wildcard_host):
        raise OriginError("wildcard hosts are not allowed here" if "*" in host else "invalid host name")
    if port and not (port.isdigit() or (port == "*" and wildcard_host)):
        raise OriginError("invalid port")
    return Origin(scheme, host, "" if port == _DEFAULT_PORTS[scheme] else port)


def _keep(variable: str, value: str, normalised: str, kept: list[str]) -> None:
    if normalised != value.strip():
        log.warning("%s: %r read as %r", variable, value, normalised)
    if normalised not in kept:
        kept.append(normalised)


def _drop(variable: str, value: str, reason: str) -> None:
    log.warning("%s: ignoring %r: %s", variable, value, reason)


def valid_cors_origins(values: list[str]) -> list[str]:
    """The origins of QA_CORS_ORIGINS in the form browsers send; malformed values dropped with a warning."""
    kept: list[str] = []
    for value in values:
        if value.strip() in ("*", "null"):
            _drop("QA_CORS_ORIGINS", value, "the app answers with credentials, so list each portal origin")
            continue
        try:
            _keep("QA_CORS_ORIGINS", value, str(parse_origin(value)), kept)
        except OriginError as exc:
            _drop("QA_CORS_ORIGINS", value, str(exc))
    return kept


def _ancestor(value: str) -> str:
    """One CSP frame-ancestors source, normalised; raises OriginError when it is not one."""
    text = value.strip()
    lowered = text.lower()
    if lowered in _KEYWORDS:
        return lowered
    if lowered in _BARE_KEYWORDS:
        return _BARE_KEYWORDS[lowered]
    if text == "*":
        log.warning("QA_FRAME_ANCESTORS: '*' lets any site frame the app")
        return text
    if lowered in ("http:", "https:"):
        return lowered
    if text.startswith("'"):
        raise OriginError("only 'self' and 'none' are allowed here")
    return str(parse_origin(text, wildcard_host=True))


def valid_frame_ancestors(values: list[str]) -> list[str]:
    """QA_FRAME_ANCESTORS as CSP sources browsers match; malformed values dropped with a warning."""
    kept: list[str] = []
    for value in values:
        try:
            _keep("QA_FRAME_ANCESTORS", value, _ancestor(value), kept)
        except OriginError as exc:
            _drop("QA_FRAME_ANCESTORS", value, str(exc))
    if "'none'" in kept and len(kept) > 1:
        log.warning("QA_FRAME_ANCESTORS: 'none' next to other values is ignored by browsers")
        kept.remove("'none'")
    return kept


# --- matching, for the embedding check -------------------------------------------------------
def _source_matches(source: str, origin: Origin) -> bool:
    if source == "*":
        return True
    if source.endswith(":") and "//" not in source:  # a scheme source: "https:"
        return origin.scheme == source[:-1] or (source == "http:" and origin.scheme == "https")
    allowed = parse_origin(source, wildcard_host=True)
    if allowed.scheme != origin.scheme and not (allowed.scheme == "http" and origin.scheme == "https"):
        return False
    if allowed.host.startswith("*."):
        host_ok = origin.host.endswith(allowed.host[1:])
    else:
        host_ok = origin.host == allowed.host
    return host_ok and (allowed.port == "*" or allowed.port == origin.port)


@dataclass(frozen=True)
class EmbedOrigins:
    """The validated lists; built once at startup, used by the guards and the embedding check."""

    cors: tuple[str, ...]
    frame_ancestors: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings) -> EmbedOrigins:
        return cls(tuple(valid_cors_origins(list(settings.cors_origins))),
                   tuple(valid_frame_ancestors(list(settings.frame_ancestors))))

    def allows_calls_from(self, origin: str) -> bool:
        try:
            return str(parse_origin(origin)) in self.cors
        except OriginError:
            return False

    def allows_frame_in(self, origin: str, app_origin: str) -> bool:
        """Whether a page at ``origin`` may frame the app, which is served at ``app_origin``."""
        try:
            page = parse_origin(origin)
        except OriginError:
            return False
        for source in self.frame_ancestors:
            if source == "'self'":
                if _same_origin(page, app_origin):
                    return True
            elif source != "'none'" and _source_matches(source, page):
                return True
        return False


def _same_origin(page: Origin, app_origin: str) -> bool:
    try:
        return page == parse_origin(app_origin)
    except OriginError:
        return False
