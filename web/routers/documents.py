"""Document administration over HTTP: list, upload, remove, and the admin session for the 文档 tab.

Listing is open; changes need the admin token (``X-Admin-Token`` or the session cookie), checked by
``web.auth.AdminRoutes`` before the body is read.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from index.store import staging_tempdir
from web.auth import DISABLED_ZH, SESSION_COOKIE, SESSION_SECONDS, WRONG_TOKEN_ZH
from web.dependencies import GateDep, LibraryDep, SettingsDep
from web.schemas import SessionRequest
from web.security import MB

router = APIRouter(tags=["文档"])


@router.get("/api/documents", summary="已收录的文档、章节和片段数")
def documents(library: LibraryDep) -> list[dict]:
    return [{k: v for k, v in d.items() if k != "hash"} for d in library.documents()]


@router.post("/api/documents", summary="上传并导入文档（管理口令放在 X-Admin-Token）")
def upload(library: LibraryDep, settings: SettingsDep, files: list[UploadFile] = File(...),
           replace: bool = Query(False, description="同名文档已存在时替换它（旧文件移到 removed/）")) -> dict:
    with staging_tempdir(settings.index_dir, "http-upload") as folder:
        uploads = []
        for i, item in enumerate(files):
            path = Path(folder) / f"{i}.part"
            with open(path, "wb") as out:
                while chunk := item.file.read(MB):
                    out.write(chunk)
            uploads.append((item.filename or "", path))
        outcomes = library.add(uploads, replace=replace)
    return {"results": [{"name": o.name, "ok": o.ok, "message": o.message_zh} for o in outcomes]}


@router.delete("/api/documents/{doc_id}", summary="删除文档（管理口令放在 X-Admin-Token）")
def remove(doc_id: str, library: LibraryDep) -> dict:
    ok, message = library.remove(doc_id)
    if not ok:
        raise HTTPException(404, message)
    return {"ok": True, "message": message}


@router.post("/api/admin/session", summary="验证管理口令，设置文档管理用的 HttpOnly Cookie")
def admin_session(body: SessionRequest, request: Request, gate: GateDep) -> JSONResponse:
    cookie_path = request.scope.get("root_path") or "/"
    if not gate.enabled or not gate.accepts(body.token):
        response = JSONResponse({"detail": DISABLED_ZH if not gate.enabled else WRONG_TOKEN_ZH}, 403)
        response.delete_cookie(SESSION_COOKIE, path=cookie_path)
        return response
    response = JSONResponse({"ok": True, "message": "管理口令正确"})
    response.set_cookie(SESSION_COOKIE, gate.session_cookie(), max_age=SESSION_SECONDS, path=cookie_path,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response
