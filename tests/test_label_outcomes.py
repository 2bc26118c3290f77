"""What `label` reports when labels cannot be produced (issue 20): a non-zero exit saying how
many of the labels asked for are missing and why, cost counted only for requests that were
answered, and a 401 message true to what was sent. Against the local OpenAI stub
(tests/openai_stub.py) and against a --base-url where nothing listens."""

from __future__ import annotations

import pytest

from ontochron.cli import main
from ontochron.graph.embedded import free_port
from ontochron.graph.ingest import ingest
from ontochron.labels import Budget, LabelFatal, LLMConfig, LLMLabeler, Pricing, run_labeler
from tests.openai_stub import OpenAIStub, cue
from tests.test_labels_llm import KEY, MODEL, RUN, ev, features, planted_stack

MALFORMED = "Sure! The label is probably: animals"  # what the stub answers to the cue


@pytest.fixture
def stub():
    with OpenAIStub(api_key=KEY, models=(MODEL,)) as s:
        yield s


def _labeler(base_url: str, api_key: str | None = KEY, **kw) -> LLMLabeler:
    cfg = LLMConfig(model=MODEL, base_url=base_url, api_key=api_key, timeout=5,
                    base_delay=0.001, max_delay=0.01, **kw)
    return LLMLabeler(cfg)


def _cli(store_target, monkeypatch, tmp_path, *extra: str) -> list[str]:
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    args = ["label", "--store", store_target.uri, "--model", MODEL, "--api-key-env",
            "ONTOCHRON_TEST_LABEL_KEY", "--cache-dir", str(tmp_path / "cache"), *extra]
    return args + (["--database", store_target.database] if store_target.database else [])


def test_nothing_listening_fails_every_label_costs_nothing_and_exits_1(
        graph_store, store_target, tmp_path, monkeypatch, capsys):
    """Measured before: "gave up after 5 attempts", exit 0, and a cost counted."""
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    url = f"http://127.0.0.1:{free_port()}/v1"
    budget = Budget(1.0)
    rep = run_labeler(_labeler(url, max_attempts=2), [ev(0), ev(1, extra=" x")],
                      budget=budget)
    assert len(rep.failed) == 2 and rep.results == [] and rep.not_produced == 2
    assert rep.spent_usd == 0.0 and budget.spent == 0.0 and budget.reserved == 0.0
    assert "gave up after 2 attempts" in rep.failed[0][2]
    assert rep.shortfall() == "2 of 2 labels could not be produced: 2 failed"
    monkeypatch.setenv("ONTOCHRON_TEST_LABEL_KEY", KEY)
    code = main(_cli(store_target, monkeypatch, tmp_path, "--base-url", url,
                     "--features", "0", "--at", "200"))
    cap = capsys.readouterr()
    assert code == 1, cap
    err = cap.err.strip().splitlines()
    assert err[-1] == "1 of 1 labels could not be produced: 1 failed"
    assert "cost $0.0000" in cap.err and "gave up after 5 attempts" in cap.err
    assert features(graph_store)[0]["label"] is None  # nothing written


def test_cost_counts_only_answered_requests(stub):
    """A failure after answered (malformed) requests costs exactly what those answers
    reported; retried 500s and a rejected 400 cost nothing."""
    pricing = Pricing()
    lab = _labeler(stub.base_url, parse_attempts=2, max_attempts=2)
    budget = Budget(None)
    rep = run_labeler(lab, [ev(0, extra=cue("malformed")), ev(1, extra=cue("500")),
                            ev(2, extra=cue("400"))], budget=budget, concurrency=1)
    assert len(rep.failed) == 3 and stub.count() == 2 + 2 + 1
    answered = [r for r in stub.requests if cue("malformed") in r["body"]["messages"][1][
        "content"]]
    want = sum(pricing.cost(sum(len(m["content"]) for m in r["body"]["messages"]) // 4,
                            len(MALFORMED) // 4) for r in answered)
    assert len(answered) == 2 and want > 0
    assert rep.spent_usd == pytest.approx(want) and budget.spent == pytest.approx(want)
    assert rep.shortfall() == "3 of 3 labels could not be produced: 3 failed"


def test_partial_failure_says_how_many_and_why(stub):
    rep = run_labeler(_labeler(stub.base_url, parse_attempts=1),
                      [ev(0), ev(0, step=5), ev(1, extra=cue("malformed"))], concurrency=1)
    assert rep.labelled == 1 and rep.cached == 1 and rep.not_produced == 1
    assert rep.summary().splitlines()[-1] == "1 of 3 labels could not be produced: 1 failed"
    rep = run_labeler(_labeler(stub.base_url), [ev(0), ev(1, extra=" y")], budget=Budget(0.0))
    assert rep.shortfall() == "2 of 2 labels could not be produced: 2 over the budget"


def test_401_message_is_true_to_what_was_sent(stub):
    with pytest.raises(LabelFatal) as err:
        _labeler(stub.base_url, api_key=None, api_key_env="MY_KEY").label(ev())
    msg = str(err.value)
    assert "refused the API key" not in msg
    assert "none was given ($MY_KEY is empty)" in msg and "placeholder" in msg
    with pytest.raises(LabelFatal) as err:
        _labeler(stub.base_url, api_key="sk-wrong", api_key_env="MY_KEY").label(ev())
    assert "refused the API key in $MY_KEY (HTTP 401)" in str(err.value)
    assert "sk-wrong" not in str(err.value)
    with pytest.raises(LabelFatal, match=r"none was given, so only a placeholder was sent"):
        _labeler(stub.base_url, api_key=None).label(ev())
    assert stub.count() == 3


def test_cli_401_without_a_key_and_the_budget_stop_exit_1(graph_store, stub, store_target,
                                                          tmp_path, monkeypatch, capsys):
    ingest(planted_stack(), run=RUN, store=graph_store, progress=False)
    monkeypatch.delenv("ONTOCHRON_TEST_LABEL_KEY", raising=False)
    args = _cli(store_target, monkeypatch, tmp_path, "--base-url", stub.base_url, "--at", "200",
                "--quiet")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "$ONTOCHRON_TEST_LABEL_KEY is empty" in err and "refused the API key" not in err
    assert err.strip().splitlines() == [
        "3 of 3 labels could not be produced: 3 stopped, the run stopped: the endpoint "
        f"{stub.base_url} asks for an API key (HTTP 401) and none was given "
        "($ONTOCHRON_TEST_LABEL_KEY is empty), so only a placeholder was sent: put the key in "
        "$ONTOCHRON_TEST_LABEL_KEY (or name another variable with --api-key-env)"]
    monkeypatch.setenv("ONTOCHRON_TEST_LABEL_KEY", KEY)
    n = stub.count()
    assert main([*args, "--max-cost-usd", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["3 of 3 labels could not be produced: 3 over the budget"]
    assert stub.count() == n  # nothing was sent
    assert main(args) == 0 and capsys.readouterr().err == ""
    assert [features(graph_store)[i]["label"] for i in range(3)] == ["animal", "plant", "rock"]
