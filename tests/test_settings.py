"""Settings: every knob documented in .env.example with the code's default, and set values used as given."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from conftest import REPO, make_settings

from rag import ConfigError, Huashu, RetrievalConfig, Settings, load_settings
from rag.settings import RETRIEVAL_KNOBS

LINE = re.compile(r"^(#\s*)?HUASHU_([A-Z0-9_]+)=(.*)$")


def _documented() -> dict[str, tuple[bool, str]]:
    """Return {field: (commented out, value)} from .env.example."""
    out = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        m = LINE.match(line.strip())
        if m:
            name = m.group(2).lower()
            assert name not in out, f"HUASHU_{m.group(2)} is documented twice"
            out[name] = (bool(m.group(1)), m.group(3).strip())
    return out


def _same(value: str, default) -> bool:
    if isinstance(default, Path):
        return (REPO / value).resolve() == default.resolve()
    if isinstance(default, bool):
        return value.lower() == str(default).lower()
    if isinstance(default, int | float):
        return float(value) == float(default)
    return value == str(default)


def test_env_example_documents_every_setting_with_the_codes_default():
    documented = _documented()
    assert set(documented) == set(Settings.model_fields), "settings and .env.example differ"
    tuned = {f.name: f.default for f in fields(RetrievalConfig)}
    for name, info in Settings.model_fields.items():
        commented, value = documented[name]
        default = info.default
        if name in RETRIEVAL_KNOBS:  # unset = RetrievalConfig's tuned default: that is what the file shows
            assert commented and _same(value, tuned[RETRIEVAL_KNOBS[name]]), name
        elif default is None:
            assert commented, f"HUASHU_{name.upper()} has no default: its example line must be commented"
        else:
            assert not commented and _same(value, default), (name, value, default)


def test_every_retrieval_knob_can_be_set():
    assert set(RETRIEVAL_KNOBS.values()) == {f.name for f in fields(RetrievalConfig)}


@pytest.mark.parametrize("env_value,expected", [("0", 0.0), ("0.0", 0.0), ("0.55", 0.55)])
def test_zero_is_a_value_not_unset(monkeypatch, env_value, expected, tmp_path):
    monkeypatch.setenv("HUASHU_NO_MATCH_THRESHOLD", env_value)
    monkeypatch.setenv("HUASHU_DENSE_WEIGHT", "0")
    app = Huashu(load_settings(_env_file=None, data_dir=tmp_path))
    assert app.retrieval_config.no_match_threshold == expected
    assert app.retrieval_config.dense_weight == 0.0


def test_unset_knobs_take_the_tuned_defaults(tmp_path):
    assert Huashu(make_settings(tmp_path)).retrieval_config == RetrievalConfig()


@pytest.mark.parametrize(
    "env,words",
    [
        ({"HUASHU_MAX_MESSAGE_CHARS": "0"}, "max_message_chars"),
        ({"HUASHU_MAX_MESSAGE_CHARS": "-5"}, "max_message_chars"),
        ({"HUASHU_RETRIEVAL_FUSION": "sum"}, "retrieval_fusion"),
        ({"HUASHU_RETRIEVAL_TOKENIZER": "words"}, "retrieval_tokenizer"),
        ({"HUASHU_CENTROID_WEIGHT": "1.5"}, "centroid_weight"),
        ({"HUASHU_RELOAD_POLL_S": "-1"}, "reload_poll_s"),
        ({"HUASHU_EMBEDDING": "bert"}, "unknown embedding provider"),
    ],
)
def test_bad_settings_are_a_config_error_naming_the_setting(monkeypatch, env, words):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError, match=words):
        load_settings(_env_file=None)


def test_a_knob_changes_retrieval(tmp_path, mini_kb, embeddings):
    loose = Huashu(make_settings(tmp_path / "a", mini_kb), embeddings=embeddings)
    loose.index()
    strict = Huashu(make_settings(tmp_path / "a", mini_kb, no_match_threshold=0.99), embeddings=embeddings)
    assert loose.draft("付款两天了怎么还没发货", brand="jianyi").matched
    assert not strict.draft("付款两天了怎么还没发货", brand="jianyi").matched
