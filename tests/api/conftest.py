"""The HTTP API as desks meet it: `huashu serve --workers 2` over a Chroma server, started once per session.

The index is built by `huashu index` in its own process and keys come from `huashu keys create` and the
library's ApiKeys, so nothing in the server process is set up by the tests' own code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import base_env, build_mini_kb, make_settings
from pgcluster import free_port

# The keys the tests use: name -> (brands, requests per minute or None for the server's default).
KEYS = {
    "both": (("lanxu", "jianyi"), None),
    "jianyi": (("jianyi",), None),
    "nuanbei": (("nuanbei",), None),
    "all": (("lanxu", "nuanbei", "jianyi"), None),
    "slow": (("jianyi",), 2),
}
WORKERS = 2


@dataclass
class ApiServer:
    """A running `huashu serve`: its URL, environment, knowledge base and the keys made for it."""

    url: str
    env: dict
    kb: Path
    log: Path
    proc: subprocess.Popen
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, key: str | None = "both", **kwargs) -> httpx.Client:
        """Return an httpx client for the server, sending the named key (None: no key)."""
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run `huashu ARGS` against the server's data, store and knowledge base."""
        return subprocess.run(
            [sys.executable, "-m", "rag.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def settings(self):
        """Return settings naming the same data, store and knowledge base as the server's."""
        return make_settings(
            Path(self.env["HUASHU_DATA_DIR"]).parent,
            self.kb,
            chroma_url=self.env["HUASHU_CHROMA_URL"],
            collection_prefix=self.env["HUASHU_COLLECTION_PREFIX"],
        )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


def sse_events(text: str) -> list[tuple[str, dict]]:
    """Parse a text/event-stream body into (event, data) pairs."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def shown_text(events: list[tuple[str, dict]]) -> str:
    """Return the text a desk shows after the stream's deltas (a reset starts it over)."""
    shown = ""
    for name, data in events:
        if name == "delta":
            shown = data["text"] if data["reset"] else shown + data["text"]
    return shown


@contextmanager
def serving(server: ApiServer, workers: int, ready: str = "/readyz", seconds: float = 180):
    """Run `huashu serve` for `server` until the block ends; wait until `ready` answers 200 first."""
    port = server.url.rsplit(":", 1)[1]
    with server.log.open("w") as out:
        server.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", port]
            + ["--workers", str(workers)],
            env=server.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share its process group: one signal ends them all
        )
    try:
        deadline = time.monotonic() + seconds
        while not _answers(server, ready):
            if server.proc.poll() is not None:
                pytest.fail(f"huashu serve exited with {server.proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"huashu serve was not ready within {seconds:.0f} s:\n{server.log_tail()}")
            time.sleep(0.3)
        yield server
    finally:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)


def _answers(server: ApiServer, path: str) -> bool:
    try:
        return httpx.get(f"{server.url}{path}", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def server_env(root: Path, kb: Path, **settings) -> dict:
    """Return the environment of a server over `root`'s data and `kb`: only the settings named here."""
    return (
        base_env()
        | {"HUASHU_DATA_DIR": str(root / "data"), "HUASHU_KB_PATH": str(kb)}
        | {f"HUASHU_{k.upper()}": str(v) for k, v in settings.items()}
    )


@pytest.fixture(scope="package")  # stopped when tests/api is done: no idle workers polling after it
def api_server(tmp_path_factory, chroma_server, fake_openai_server, embeddings):
    """Index a small knowledge base into the Chroma server, make keys, and serve it with two workers that
    draft through the fake OpenAI server in mode auto or llm (mode script stays script)."""
    from rag import ApiKeys, Huashu, open_feedback_store

    root = tmp_path_factory.mktemp("api")
    kb = build_mini_kb(root / "kb")
    env = server_env(
        root,
        kb,
        chroma_url=chroma_server,
        collection_prefix=f"api{uuid.uuid4().hex[:8]}",
        reload_poll_s=0.3,
        api_rate_per_minute=100000,  # only the `slow` key meets its limit
        api_rate_burst=1000,
        api_max_body_bytes=16384,
        llm_timeout_s=3,
        llm_breaker_threshold=1000000,  # a fault one test asks for never closes the LLM for the others
        **fake_openai_server.settings(),
    )
    port = free_port()
    log = root / "server.log"
    server = ApiServer(f"http://127.0.0.1:{port}", env, kb, log, proc=None)  # type: ignore[arg-type]
    with Huashu(server.settings(), embeddings=embeddings) as app:  # here, where the learned stage is trained
        app.index()
    done = server.cli("keys", "create", "--desk", "desk-both", "--brands", "lanxu,jianyi", "--json")
    assert done.returncode == 0, done.stderr
    server.keys["both"] = json.loads(done.stdout)["key"]
    with open_feedback_store(server.settings()) as store:
        for name, (brands, rate) in KEYS.items():
            if name not in server.keys:
                server.keys[name] = ApiKeys(store).create(f"desk-{name}", brands, rate_per_minute=rate)[1]
    with serving(server, WORKERS):
        yield server
