"""Small helpers for the plain ASGI guards: the path below the root path, the request headers as a dict."""
from __future__ import annotations


def route_path(scope) -> str:
    """The path the app routes on: without the ``--root-path`` prefix a reverse proxy adds."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def header_map(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
