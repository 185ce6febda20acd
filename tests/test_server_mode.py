"""The same re-index and retrieval against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import make_settings, script, write_script

from rag.index import Indexer
from rag.kb import load_kb
from rag.retrieve import IndexReader, Retriever
from rag.store import Store

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "chroma")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"chroma server did not start (exit {proc.poll()})")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_reindex_cycle_against_server(tmp_path, mini_kb, embeddings, chroma_server):
    settings = make_settings(
        tmp_path, mini_kb, chroma_url=chroma_server, collection_prefix=f"t{int(time.time() * 1000) % 10**8}"
    )
    store = Store(settings)
    assert store.location == chroma_server
    ix = Indexer(store, embeddings, settings.data_dir / "index.lock")
    first = ix.run(load_kb(mini_kb))
    assert first.gen == 1 and len(first.added) == 6
    assert ix.run(load_kb(mini_kb)).embedded == 0  # no-op

    write_script(
        mini_kb / "scripts" / "order.yaml",
        [script("ship_a", reply="付款后24小时内发货，请留意订单页的运单号。")],
    )
    report = ix.run(load_kb(mini_kb))
    assert report.updated == ["script:ship_a"] and report.removed == ["script:damage_a"]

    reader = IndexReader(Store(settings), embeddings)
    ids = [s.item.id for s in Retriever(reader).search("什么时候发货", brand="jianyi").scripts]
    assert (
        ids[0] == "ship_a" and "damage_a" not in ids and "usage_lanxu" not in ids
    )  # lanxu-only script stays out
    assert reader.manifest.provider == "use-m3"


def test_unreachable_server_is_a_clear_error(tmp_path, mini_kb):
    from rag.errors import HuashuError

    settings = make_settings(tmp_path, mini_kb, chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(HuashuError, match="Chroma"):
        Store(settings).read_manifest()
