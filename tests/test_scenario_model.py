"""The scenario classifier: trained by the index from customer examples, stored with the generation, fused into
retrieval; retrained only when examples change; off gives the hybrid ranking; a degenerate KB falls back."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from conftest import copy_starter, make_settings, script, write_script

from rag import Huashu
from rag.scenario_model import ScenarioModel

QUERY = "主播说的口令怎么用"  # a live-stream code word: the starter KB reads it as a product-usage question
NEW_EXAMPLE = "直播间主播报的口令在哪里用"


def _add_example(kb, sid: str, example: str) -> None:
    path = next(p for p in (kb / "scripts").rglob("*.yaml") if f"id: {sid}" in p.read_text(encoding="utf-8"))
    scripts = yaml.safe_load(path.read_text(encoding="utf-8"))
    next(s for s in scripts if s["id"] == sid)["customer_examples"].append(example)
    write_script(path, scripts)


def _edit_reply(kb, sid: str) -> None:
    path = next(p for p in (kb / "scripts").rglob("*.yaml") if f"id: {sid}" in p.read_text(encoding="utf-8"))
    scripts = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = next(s for s in scripts if s["id"] == sid)
    entry["reply"] = entry["reply"].rstrip() + "如有其他问题，随时告诉我。"
    write_script(path, scripts)


@pytest.fixture(scope="module")
def starter(tmp_path_factory, embeddings, starter_index):
    """A copy of the starter knowledge base, indexed (with its classifier) in a temp dir."""
    root = tmp_path_factory.mktemp("clf")
    app = Huashu(copy_starter(starter_index, root, root / "kb"), embeddings=embeddings)
    report = app.index()
    yield app, report
    app.close()


def test_the_index_trains_the_classifier_and_records_its_version_and_data(starter):
    app, report = starter
    entry = app.store.read_manifest().scenario_model
    assert entry["status"] == "ok" and entry == report.scenario_model
    assert entry["version"] and len(entry["fingerprint"]) == 16
    assert entry["scenarios"] == 29
    examples = sum(len(s.customer_examples) for s in app.scripts())
    assert entry["examples"] == examples


def test_the_model_is_stored_and_loaded_with_the_generation(starter, embeddings):
    app, _ = starter
    entry = app.store.read_manifest().scenario_model
    stored = ScenarioModel.from_bytes(app.store.read_model(entry["digest"]))
    other = Huashu(app.settings, embeddings=embeddings, watch=False)  # another serving process, say
    try:
        served = other.reader.scenario_model
        assert served is not None and other.reader.model_digest == entry["digest"]
        vector = embeddings.embed_query("快递盒子破了")
        probs = served.probabilities("快递盒子破了", vector)
        assert probs == stored.probabilities("快递盒子破了", vector)
        assert abs(sum(probs.values()) - 1) < 1e-5
        assert max(probs, key=probs.get) == "damaged_or_missing"
        top = other.retrieve("快递盒子破了，里面的瓶子也碎了", brand="nuanbei").best
        assert top.hit.scenario == "damaged_or_missing" and top.hit.scenario_prob == pytest.approx(
            probs["damaged_or_missing"], abs=0.2
        )
    finally:
        other.close()


def test_turning_it_off_gives_the_hybrid_ranking(starter, embeddings):
    app, _ = starter
    off = Huashu(
        make_settings(app.settings.data_dir.parent, app.settings.kb_path, scenario_model="off"),
        embeddings=embeddings,
        watch=False,
    )
    try:
        assert off.reader.scenario_model is None
        for query, brand in [(QUERY, "jianyi"), ("拍了两天了怎么还不发货", "lanxu"), ("刚买就降价了", None)]:
            plain = off.retrieve(query, brand=brand)
            hybrid = app.retrieve(query, brand=brand, mode="hybrid")
            assert [(s.hit.id, s.hit.score) for s in plain.scripts] == [
                (s.hit.id, s.hit.score) for s in hybrid.scripts
            ]
            assert plain.matched == hybrid.matched == app.retrieve(query, brand=brand).matched
            assert all(s.hit.scenario_prob == 0 for s in plain.scripts)
        fused = app.retrieve(QUERY, brand="jianyi")
        assert any(s.hit.scenario_prob > 0 for s in fused.scripts)
    finally:
        off.close()


def test_the_eval_runner_ranks_with_the_classifier_by_default_and_records_it(starter, tmp_path):
    from rag.evaluation import EvalRunner, read_eval_files, results_json

    app, _ = starter
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"id": "r1", "kind": "retrieval", "query": "快递盒子破了", "brand": "nuanbei", '
        '"expected_scenario": "damaged_or_missing"}\n',
        encoding="utf-8",
    )
    results = results_json(EvalRunner(app).run(read_eval_files([path])))
    model = results["config"]["scenario_model"]
    assert (
        model["serving"] and model["fingerprint"] == app.store.read_manifest().scenario_model["fingerprint"]
    )
    fused = app.retrieve("快递盒子破了", brand="nuanbei")
    assert results["failures"] == [] and fused.best.hit.scenario_prob > 0


def test_a_new_example_moves_a_query_to_the_right_scenario_after_a_reindex(starter):
    """Retrained when examples change, reused when only a reply changes: no code involved either way."""
    app, _ = starter
    before = app.retrieve(QUERY, brand="jianyi")
    assert before.best.hit.scenario != "promotion_coupon"
    first = app.store.read_manifest().scenario_model
    vector = app.embeddings.embed_query(QUERY)
    p_before = app.reader.scenario_model.probabilities(QUERY, vector)["promotion_coupon"]

    _edit_reply(app.settings.kb_path, "promo_how_to_get_coupon")
    report = app.index()
    assert report.updated == ["script:promo_how_to_get_coupon"]
    assert report.scenario_model == first  # same examples: the same model, not trained again

    _add_example(app.settings.kb_path, "promo_how_to_get_coupon", NEW_EXAMPLE)
    report = app.index()
    second = report.scenario_model
    assert second["status"] == "ok" and second["fingerprint"] != first["fingerprint"]
    assert second["digest"] != first["digest"] and second["examples"] == first["examples"] + 1
    assert app.reader.model_digest == second["digest"]  # this process serves the new generation at once
    after = app.retrieve(QUERY, brand="jianyi")
    assert after.best.hit.scenario == "promotion_coupon"
    assert app.reader.scenario_model.probabilities(QUERY, vector)["promotion_coupon"] > p_before


def test_indexing_with_it_off_trains_nothing(tmp_path, mini_kb, embeddings):
    with Huashu(make_settings(tmp_path, mini_kb, scenario_model="off"), embeddings=embeddings) as app:
        report = app.index()
        assert report.scenario_model["status"] == "off"
        assert app.reader.scenario_model is None
        assert app.draft("什么时候发货", brand="jianyi").scenario == "shipping_delay"


def test_a_one_scenario_kb_falls_back_to_hybrid_without_crashing(tmp_path, mini_kb, embeddings, caplog):
    shutil.rmtree(mini_kb / "scripts")
    write_script(mini_kb / "scripts" / "order.yaml", [script("ship_a"), script("ship_b")])
    with Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings) as app:
        report = app.index()
        assert report.scenario_model["status"] == "skipped"
        assert any("两个场景" in n for n in report.notices)
        assert app.reader.scenario_model is None and "两个场景" in app.reader.scenario_note
        assert any("without a scenario model" in r.message for r in caplog.records)
        found = app.retrieve("怎么还没发货", brand="lanxu")
        assert found.best.hit.scenario == "shipping_delay" and found.best.hit.scenario_prob == 0
        assert app.draft("怎么还没发货", brand="lanxu").matched
        # a second scenario arrives: the next re-index trains, with no other step
        write_script(
            mini_kb / "scripts" / "damage.yaml",
            [
                script(
                    "dmg", "damaged_or_missing", examples=["东西碎了", "瓶子破了", "坏的", "压烂了", "裂开了"]
                )
            ],
        )
        assert app.index().scenario_model["status"] == "ok"
        assert app.reader.scenario_model is not None


def test_probabilities_are_calibrated_softmax_over_known_scenarios(starter, embeddings):
    app, _ = starter
    model = app.reader.scenario_model
    vector = np.asarray(embeddings.embed_query("在吗"), dtype=np.float32)
    probs = model.probabilities("在吗", vector)
    assert set(probs) == {s.scenario for s in app.scripts()}
    assert 0 < model.temperature < 50 and max(probs, key=probs.get) == "greeting"


def test_a_lost_model_serves_hybrid_with_the_reason_and_the_next_index_trains_it_again(
    tmp_path, mini_kb, embeddings
):
    settings = make_settings(tmp_path, mini_kb)
    with Huashu(settings, embeddings=embeddings, watch=False) as app:
        first = app.index().scenario_model
        app.store.prune_models(set())  # the store lost it (a restored backup, a hand-deleted record)
    with Huashu(settings, embeddings=embeddings, watch=False) as app:
        assert app.reader.scenario_model is None and "huashu index" in app.reader.scenario_note
        assert app.retrieve("什么时候发货", brand="jianyi").best.hit.scenario == "shipping_delay"
        again = app.index()  # the knowledge base did not change; the model is trained back all the same
        assert again.scenario_model["status"] == "ok"
        assert again.scenario_model["fingerprint"] == first["fingerprint"]
        assert app.reader.scenario_model is not None
