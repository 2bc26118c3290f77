"""LLM labelling through the real ``openai`` client against a local OpenAI-compatible stub
(tests/openai_stub.py): structured-output parsing and validation, retries (429 with
Retry-After, 5xx, malformed JSON), no retry on 401/404, cache hits, the cost stop, dry runs,
the API key never leaking, and labels landing on the graph in the Bolt test server."""

from __future__ import annotations

import json
import logging
import traceback

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.graph.ingest import ingest
from ontochron.graph.schema import fork_key
from ontochron.labels import (
    Budget,
    Evidence,
    LabelCache,
    LabelFailure,
    LabelFatal,
    LLMConfig,
    LLMLabeler,
    Pricing,
    label_run,
    plan,
    run_labeler,
)
from ontochron.labels.llm import parse_label, parse_selection
from tests.openai_stub import OpenAIStub, cue
from tests.synthetic import stack_from_dense

KEY = "sk-test-LEAKCHECK-7f3a9c"
MODEL = "stub-model"


@pytest.fixture
def stub():
    with OpenAIStub(api_key=KEY, models=(MODEL,)) as s:
        yield s


def labeler(stub: OpenAIStub, sleeps: list[float] | None = None, **kw) -> LLMLabeler:
    cfg = LLMConfig(model=kw.pop("model", MODEL), base_url=stub.base_url,
                    api_key=kw.pop("api_key", KEY), timeout=10, base_delay=0.01, **kw)
    return LLMLabeler(cfg, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def ev(feature: int = 0, step: int = 0, extra: str = "") -> Evidence:
    """Planted: the ON concepts share 'animal'; one held-out negative ('animal toy') also has
    the word, so detection gets TPR 2/2, TNR 1/2 -> balanced accuracy 0.75."""
    return Evidence(feature, step, ("animal cat", "animal dog", "animal cow" + extra),
                    ("plant fern", "plant oak"), ("animal yak", "animal emu"),
                    ("plant ivy", "animal toy"), 5)


# --------------------------------------------------------------------------- parsing

def test_label_and_detection_score_through_the_client(stub):
    res = labeler(stub).label(ev())
    assert (res.text, res.confidence, res.method, res.model) == ("animal", 1.0, "llm", MODEL)
    assert res.score == pytest.approx(0.75)
    assert res.details["selected"] == 3 and res.details["true_positives"] == 2
    first, second = stub.requests
    assert first["kind"] == "label" and second["kind"] == "detection"
    assert all(r["auth_ok"] for r in stub.requests)
    fmt = first["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["label", "explanation", "confidence"]
    user = first["body"]["messages"][1]["content"]
    assert '"animal cat"' in user and '"plant fern"' in user and "animal yak" not in user
    det = second["body"]["messages"][1]["content"]
    assert '"animal yak"' in det and '"animal toy"' in det and '"plant fern"' not in det
    # usage reported by the server -> cost from the configured prices
    u = res.details["usage"]
    assert res.cost_usd == pytest.approx(Pricing().cost(u["prompt_tokens"],
                                                        u["completion_tokens"]))


@pytest.mark.parametrize("content", [
    "animals", '{"label": "x"}', '{"label": "", "explanation": "", "confidence": 0.5}',
    '{"label": "x", "explanation": "", "confidence": 1.5}',
    '{"label": "x", "explanation": "", "confidence": true}',
    '{"label": "x", "explanation": "", "confidence": 0.5, "extra": 1}', "[]", None])
def test_parse_label_rejects_malformed(content):
    with pytest.raises(ValueError):
        parse_label(content)


def test_parse_selection():
    assert parse_selection('{"selected": [3, 1]}', 3).tolist() == [True, False, True]
    for bad in ('{"selected": [0]}', '{"selected": [4]}', '{"selected": [true]}',
                '{"selected": "1"}', "1, 2"):
        with pytest.raises(ValueError):
            parse_selection(bad, 3)


def test_malformed_answer_is_asked_again_then_fails_cleanly(stub, tmp_path):
    res = labeler(stub).label(ev(extra=cue("malformed", 1)))
    assert res.text == "animal" and stub.count("label") == 2  # one malformed, one good
    lab = labeler(stub, parse_attempts=3)
    with LabelCache(tmp_path) as cache:
        rep = run_labeler(lab, [ev(1, extra=cue("malformed"))], cache=cache)
        assert rep.results == [] and len(rep.failed) == 1 and len(cache) == 0
    assert "malformed answer 3 times" in rep.failed[0][2]
    assert stub.count("label") == 2 + 3  # never guessed from the free text


# --------------------------------------------------------------------------- retries

def test_429_honours_retry_after_and_500_backs_off(stub):
    sleeps: list[float] = []
    res = labeler(stub, sleeps).label(ev(extra=cue("429", 2, retry_after=7)))
    assert res.text == "animal" and sleeps == [7.0, 7.0] and stub.count("label") == 3
    sleeps.clear()
    labeler(stub, sleeps).label(ev(extra=cue("500", 2)))
    # exponential: base 0.01 * 2**attempt, jittered into [half, full]
    assert len(sleeps) == 2 and 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02


def test_retries_exhausted_is_a_clean_failure(stub):
    with pytest.raises(LabelFailure, match="gave up after 3 attempts"):
        labeler(stub, max_attempts=3).label(ev(extra=cue("500")))
    assert stub.count() == 3


def test_401_and_404_stop_without_retry(stub):
    with pytest.raises(LabelFatal, match="refused the API key") as err:
        labeler(stub, api_key="sk-wrong-key-0000").label(ev())
    assert "sk-wrong-key-0000" not in str(err.value) and stub.count() == 1
    rep = run_labeler(labeler(stub, model="no-such-model"), [ev(i) for i in range(5)],
                      concurrency=1)
    assert rep.fatal and "not found" in rep.fatal and "no-such-model" in rep.fatal
    assert stub.count() == 2 and rep.stopped == 5 and rep.results == []


# --------------------------------------------------------------------------- cache, cost, dry run

def test_second_run_makes_zero_requests(stub, tmp_path):
    evs = [ev(0, 0), ev(0, 100), ev(1, 0, extra=" x")]  # two distinct contents
    with LabelCache(tmp_path) as cache:
        rep = run_labeler(labeler(stub), evs, cache=cache, concurrency=3)
        assert rep.labelled == 2 and rep.cached == 1 and stub.count() == 4
        again = run_labeler(labeler(stub), evs, cache=cache, concurrency=3)
    assert stub.count() == 4 and again.labelled == 0 and again.cached == 3
    key = lambda r: (r.feature, r.step)  # noqa: E731
    assert ([(r.text, r.score) for r in sorted(rep.results, key=key)]
            == [(r.text, r.score) for r in sorted(again.results, key=key)])


def test_cost_stop_before_exceeding_budget(stub):
    lab = labeler(stub)
    evs = [ev(i, extra=f" n{i}") for i in range(6)]
    est = lab.estimate(evs[0])[2]
    budget = 1.2 * est
    rep = run_labeler(lab, evs, budget=Budget(budget), concurrency=1)
    # the rule, replayed by hand: job k starts only if (spent by jobs before it) + its
    # worst-case estimate fits; actual costs (from the server's usage) are below estimates
    costs = [r.cost_usd for r in rep.results]
    assert all(0 < c < est for c in costs) and rep.spent_usd == pytest.approx(sum(costs))
    for k in range(len(costs)):
        assert sum(costs[:k]) + lab.estimate(evs[k])[2] <= budget
    if rep.over_budget:
        assert sum(costs) + lab.estimate(evs[len(costs)])[2] > budget
    assert rep.labelled == len(costs) and rep.labelled + rep.over_budget == 6
    assert 1 <= rep.labelled < 6 and stub.count() == 2 * rep.labelled
    assert rep.spent_usd <= budget
    zero = run_labeler(lab, evs, budget=Budget(0.0))
    assert zero.labelled == 0 and zero.over_budget == 6 and stub.count() == 2 * rep.labelled


def test_concurrency_is_bounded():
    with OpenAIStub(api_key=KEY, models=(MODEL,), delay=0.05) as s:
        rep = run_labeler(labeler(s), [ev(i, extra=f" n{i}") for i in range(8)], concurrency=3)
        assert rep.labelled == 8 and s.count() == 16
        assert 1 <= s.max_in_flight <= 3
        assert sorted(r.feature for r in rep.results) == list(range(8))


def test_cost_stop_with_worst_case_usage():
    with OpenAIStub(api_key=KEY, models=(MODEL,), report_usage=False) as s:
        lab = labeler(s)
        evs = [ev(i, extra=f" n{i}") for i in range(5)]
        est = lab.estimate(evs[0])[2]
        rep = run_labeler(lab, evs, budget=Budget(2.5 * est), concurrency=2)
        # no usage reported: each job is charged ~its estimate, so exactly two fit
        assert rep.labelled == 2 and rep.over_budget == 3 and s.count() == 4
        assert rep.spent_usd <= 2.5 * est


def test_dry_run_plan_makes_no_request(stub, tmp_path):
    lab = labeler(stub)
    with LabelCache(tmp_path) as cache:
        run_labeler(lab, [ev(0)], cache=cache)
        n = stub.count()
        plans = plan(lab, [ev(0), ev(1, extra=" y"), ev(2, extra=" y")], cache)
    assert stub.count() == n
    assert [p.cached for p in plans] == [True, False]
    assert plans[1].usd == pytest.approx(lab.estimate(ev(1, extra=" y"))[2]) and plans[1].usd > 0
    assert '"animal cat"' in plans[1].messages[1]["content"]


# --------------------------------------------------------------------------- on the graph

ANIMALS = ["animal cat", "animal dog", "animal cow", "animal yak", "animal emu"]
PLANTS = ["plant fern", "plant oak", "plant ivy"]
ROCKS = ["rock granite", "rock basalt", "rock slate"]
NAMES = ANIMALS + PLANTS + ROCKS
RUN = "label run"


def planted_stack():
    """Feature 0 = animals throughout; feature 1 = plants, and also 'rock granite' from step
    200; feature 2 = rocks."""
    frames = []
    for step in (0, 100, 200):
        codes = np.zeros((len(NAMES), 3), dtype=np.uint8)
        codes[:5, 0] = 1
        codes[5:8, 1] = 1
        codes[8:, 2] = 1
        if step >= 200:
            codes[8, 1] = 1
        frames.append((step, NAMES, codes))
    return stack_from_dense(frames)


def describes(store, run_id=RUN):
    rows = store.run("MATCH (l:Label)-[d:DESCRIBES]->(f) WHERE l.run_id = $run_id "
                     "RETURN f.index AS f, l.method AS m, l.text AS text, l.score AS score, "
                     "l.step AS step, d.valid_from AS a, d.valid_to AS b, d.fork AS fork",
                     run_id=run_id)
    return sorted(((r["f"], r["m"], r["a"], r["b"]) for r in rows), key=str), rows


def features(store):
    return {r["i"]: r for r in store.run(
        "MATCH (f:Feature) WHERE f.run_id = $run_id RETURN f.index AS i, f.label AS label, "
        "f.label_score AS score, f.label_step AS step, f.label_method AS method", run_id=RUN)}


def test_labels_land_on_the_graph_versioned(graph_store, stub, tmp_path):
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    with LabelCache(tmp_path) as cache:
        rep = label_run(graph_store, labeler(stub), run_id=RUN, steps=[0, 200],
                        features=[0, 1], cache=cache)
        # feature 0 has the same evidence at 0 and 200: labelled once
        assert rep.labelled == 3 and rep.cached == 1 and stub.count() == 6
        assert rep.written.created == 4 and rep.written.mirrored == 2
        got, rows = describes(graph_store)
        assert got == sorted([(0, "llm", 0, 200), (0, "llm", 200, None),
                              (1, "llm", 0, 200), (1, "llm", 200, None)], key=str)
        assert all(r["fork"] == fork_key(r["a"], r["b"]) for r in rows)
        texts = {(r["f"], r["step"]): (r["text"], r["score"]) for r in rows}
        # held-out: one activating + one other concept, the stub picks exactly the right one
        assert texts[(0, 0)] == texts[(0, 200)] == ("animal", 1.0)
        assert texts[(1, 0)][0] == "plant" and texts[(1, 200)][0] == "plant"
        f = features(graph_store)
        assert (f[0]["label"], f[0]["score"], f[0]["step"], f[0]["method"]) == (
            "animal", 1.0, 200, "llm")
        assert f[1]["label"] == "plant" and f[1]["step"] == 200 and f[2]["label"] is None

        # re-running changes nothing and asks nothing
        rep2 = label_run(graph_store, labeler(stub), run_id=RUN, steps=[0, 200],
                         features=[0, 1], cache=cache)
        assert stub.count() == 6 and rep2.written.created == 0
        assert describes(graph_store)[0] == got

        # a label at step 100 (same evidence: from the cache) is cut in between
        rep3 = label_run(graph_store, labeler(stub), run_id=RUN, steps=[100], features=[0],
                         cache=cache)
        assert stub.count() == 6 and rep3.cached == 1 and rep3.written.created == 1
        assert rep3.written.intervals_updated == 1
        chain = [g for g in describes(graph_store)[0] if g[0] == 0]
        assert chain == [(0, "llm", 0, 100), (0, "llm", 100, 200), (0, "llm", 200, None)]
        assert features(graph_store)[0]["step"] == 200  # the latest is still step 200

    # re-ingesting the same source leaves labels alone
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    assert features(graph_store)[0]["label"] == "animal"
    assert len(describes(graph_store)[1]) == 5


def test_cli_label_dry_run_and_llm(graph_store, stub, store_target, tmp_path, monkeypatch,
                                   capsys):
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    monkeypatch.setenv("MY_LABEL_KEY", KEY)
    base = ["label", "--store", store_target.uri, "--base-url", stub.base_url, "--model", MODEL,
            "--api-key-env", "MY_LABEL_KEY", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    if store_target.database:
        base += ["--database", store_target.database]
    assert main([*base, "--dry-run", "--features", "0,2"]) == 0
    out = capsys.readouterr().out
    assert stub.count() == 0 and "feature 0 at step 200" in out and '"animal cat"' in out
    assert "dry run: 2 feature-steps" in out and "$" in out
    assert features(graph_store)[0]["label"] is None
    assert main([*base, "--unlabeled", "--at", "200"]) == 0
    f = features(graph_store)
    assert [f[i]["label"] for i in range(3)] == ["animal", "plant", "rock"]
    n = stub.count()
    assert main([*base, "--unlabeled"]) == 0 and stub.count() == n  # nothing left unlabelled
    assert main([*base, "--changed-since", "100", "--at", "200"]) == 0  # feature 1: cached
    assert stub.count() == n
    assert main([*base, "--features", "7"]) == 2
    assert "no feature(s) [7]" in capsys.readouterr().err
    assert main([*base, "--dry-run", "--at", "150"]) == 2
    assert "no checkpoint at step(s) [150]" in capsys.readouterr().err
    assert main([*base, "--method", "embedding"]) == 2
    assert "needs --embeddings FILE and --vocab FILE" in capsys.readouterr().err


def test_cli_embedding_labels_on_the_graph(graph_store, store_target, tmp_path, monkeypatch):
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    e = np.eye(4)
    kinds = {"animal": e[1], "plant": e[2], "rock": e[3]}
    vecs = np.stack([3 * e[0] + kinds[n.split()[0]] for n in NAMES])
    np.savez(tmp_path / "emb.npz", names=np.array(NAMES), vectors=vecs)
    np.savez(tmp_path / "vocab.npz", names=np.array(["thing", "animal", "plant", "rock"]),
             vectors=e)
    args = ["label", "--store", store_target.uri, "--embeddings", str(tmp_path / "emb.npz"),
            "--vocab", str(tmp_path / "vocab.npz"), "--cache-dir", str(tmp_path / "c"),
            "--quiet", "--at", "0"]
    if store_target.database:
        args += ["--database", store_target.database]
    assert main([*args, "--method", "contrastive"]) == 0
    assert main([*args, "--method", "embedding"]) == 0
    got, rows = describes(graph_store)
    by = {(r["f"], r["m"]): r for r in rows}
    assert {(f, m): by[(f, m)]["text"] for f, m in by} == {
        (0, "contrastive"): "animal", (1, "contrastive"): "plant", (2, "contrastive"): "rock",
        (0, "embedding"): "thing", (1, "embedding"): "thing", (2, "embedding"): "thing"}
    assert all(r["score"] == 1.0 for r in rows if r["m"] == "contrastive")
    assert all(r["score"] == 0.5 for r in rows if r["m"] == "embedding")
    assert features(graph_store)[0]["method"] in ("embedding", "contrastive")


# --------------------------------------------------------------------------- the key never leaks

def test_api_key_never_leaks(graph_store, stub, tmp_path, caplog, capsys, monkeypatch):
    caplog.set_level(logging.DEBUG)  # the openai/httpx debug logs included
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    texts: list[str] = []
    with LabelCache(tmp_path) as cache:
        rep = label_run(graph_store, labeler(stub), run_id=RUN, steps=[0, 200], cache=cache)
        assert rep.written.created == 6
        texts.append(rep.summary())
        bad = [ev(9, extra=cue("400")), ev(10, extra=cue("malformed")), ev(11, extra=cue("500"))]
        rep = run_labeler(labeler(stub, max_attempts=2), bad, cache=cache)
        assert len(rep.failed) == 3
        texts += [why for _, _, why in rep.failed] + [rep.summary()]
        assert any("Bad request from Bearer ***" in t for t in texts)  # redacted echo
        for lab in (labeler(stub, api_key=KEY + "x"), labeler(stub, model="nope")):
            try:
                lab.label(ev())
            except LabelFatal as exc:
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            else:
                raise AssertionError("expected LabelFatal")
        texts.append(repr(labeler(stub).config))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NEO4J_USERNAME", graph_store.config.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", graph_store.config.password or "")
    main(["label", "--store", graph_store.uri, "--base-url", stub.base_url, "--model", "nope",
          "--cache-dir", str(tmp_path), "--features", "2", "--at", "100"]
         + (["--database", graph_store.database] if graph_store.database else []))
    cap = capsys.readouterr()
    texts += [cap.out, cap.err, caplog.text]
    cache_bytes = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    dump = json.dumps(graph_store.run("MATCH (n) RETURN properties(n) AS p "
                                      "UNION ALL MATCH ()-[r]->() RETURN properties(r) AS p"),
                      default=str)
    assert "refused the API key" in "".join(texts) and "not found" in cap.err
    assert len(caplog.records) > 0 and len(cache_bytes) > 0 and "animal" in dump
    assert KEY not in "\n".join(texts)
    assert KEY.encode() not in cache_bytes
    assert KEY not in dump
