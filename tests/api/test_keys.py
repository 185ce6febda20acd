"""API keys in the feedback database (SQLite and PostgreSQL): shown once, stored hashed, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from rag import ApiKeys, BadInputError, NotFoundError, open_feedback_store


@pytest.fixture
def keys(feedback_settings):
    with open_feedback_store(feedback_settings) as store:
        yield ApiKeys(store)


def test_a_key_verifies_until_revoked_and_only_its_hash_is_stored(keys):
    key, token = keys.create("desk-a", ["lanxu", "jianyi", "lanxu"], rate_per_minute=60)
    assert token.startswith(f"hsk_{key.id}_") and key.brands == ("lanxu", "jianyi")
    assert keys.verify(token) == key and key.allows("jianyi") and not key.allows("nuanbei")
    with keys.store.engine.connect() as conn:
        stored = [tuple(map(str, row)) for row in conn.execute(text("SELECT * FROM api_keys"))]
    assert stored and not any(token in value or token[-20:] in value for row in stored for value in row)
    assert [k.id for k in keys.list()] == [key.id]
    revoked = keys.revoke(key.id)
    assert revoked.revoked_at and keys.verify(token) is None
    assert keys.revoke(key.id).revoked_at == revoked.revoked_at  # revoking twice changes nothing


@pytest.mark.parametrize(
    "token",
    [None, "", "hsk_", "Bearer x", "hsk_00000000_" + "a" * 43, "hsk_zzzzzzzz_" + "a" * 43],
)
def test_anything_but_a_live_key_is_refused(keys, token):
    keys.create("desk-a", ["lanxu"])
    assert keys.verify(token) is None


def test_a_wrong_secret_for_a_real_id_is_refused(keys):
    key, token = keys.create("desk-a", ["lanxu"])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert keys.verify(forged) is None


@pytest.mark.parametrize(
    "desk,brands,rate,words",
    [
        ("", ["lanxu"], None, "--desk"),
        ("d", [], None, "--brands"),
        ("d", [" "], None, "--brands"),
        ("d", ["lanxu"], 0, "--rate"),
    ],
)
def test_bad_key_requests_say_which_option(keys, desk, brands, rate, words):
    with pytest.raises(BadInputError, match=words):
        keys.create(desk, brands, rate_per_minute=rate)


def test_revoking_an_unknown_key_says_how_to_list_them(keys):
    with pytest.raises(NotFoundError, match="huashu keys list"):
        keys.revoke("deadbeef")
