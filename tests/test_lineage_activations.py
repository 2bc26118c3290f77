"""Lineage from codes alone (``--match-on activations``): planted activation patterns over
probe concepts with a known lineage, independent codes, column shuffles, the power report on
few concepts, the CLI file contract and bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.lineage.activations import masked_pearson, permutation_null
from ontochron.lineage.pipeline import activation_lineage, lineage_of, load_aligned
from ontochron.lineage.result import Lineage
from tests.lineage_planted import WRITERS, check_recovery, csv_rows, true_links
from tests.lineage_planted import planted as planted_decoders

STEPS = [0, 1000, 2000, 3000]


@dataclass
class PlantedCodes:
    """Codes (C, F) per step (columns shuffled) and the true links in column indices."""

    codes: list[np.ndarray] = field(default_factory=list)
    truth: list[dict[str, set]] = field(default_factory=list)


def _drift(s: frozenset, frac: float, C: int, rng: np.random.Generator) -> frozenset:
    """The concept set with ``frac`` of its members swapped for random non-members."""
    members = np.array(sorted(s))
    k = int(round(frac * members.size))
    drop = rng.choice(members, k, replace=False)
    outside = np.setdiff1d(np.arange(C), members)
    add = rng.choice(outside, k, replace=False)
    return frozenset(set(members.tolist()) - set(drop.tolist()) | set(add.tolist()))


def planted_codes(C: int = 400, F: int = 80, steps: int = 4, seed: int = 0, *,
                  n_split: int = 3, n_merge: int = 3, n_birth: int = 4,
                  big_drift: float = 0.3) -> PlantedCodes:
    """Features as concept sets (24..40 concepts each): most continue with 10 % (or, for the
    ``big_drift`` fraction, 25 %) of their concepts swapped, ``n_split`` are divided in two
    halves, ``n_merge`` pairs merge into their union, ``n_birth`` are born and as many die
    (so the width is constant); columns shuffled at every step."""
    rng = np.random.default_rng(seed)

    def fresh() -> frozenset:
        return frozenset(rng.choice(C, int(rng.integers(24, 41)), replace=False).tolist())

    def matrix(sets: list[frozenset], perm: np.ndarray) -> np.ndarray:
        X = np.zeros((C, len(sets)), dtype=bool)
        for j, s in enumerate(sets):
            X[list(s), j] = True
        return X[:, perm]

    cur = [fresh() for _ in range(F)]
    out = PlantedCodes()
    perm = rng.permutation(F)
    out.codes.append(matrix(cur, perm))
    pos = np.argsort(perm)
    for _ in range(1, steps):
        order = rng.permutation(F)
        big = [i for i in order if len(cur[i]) >= 32]
        splits = big[:n_split]
        rest = [i for i in order if i not in set(splits)]
        merges = np.array(rest[:2 * n_merge]).reshape(-1, 2)
        deaths = rest[2 * n_merge:2 * n_merge + n_birth]
        cont = rest[2 * n_merge + n_birth:]
        new: list[frozenset] = []
        src: list[tuple[str, tuple]] = []
        for i in cont:
            new.append(_drift(cur[i], 0.25 if rng.random() < big_drift else 0.1, C, rng))
            src.append(("continue", (i,)))
        for i in splits:
            members = rng.permutation(sorted(cur[i]))
            half = members.size // 2
            for part in (members[:half], members[half:]):
                new.append(frozenset(part.tolist()))
                src.append(("split", (i,)))
        for a, b in merges:
            new.append(cur[a] | cur[b])
            src.append(("merge", (a, b)))
        for _ in range(n_birth):
            new.append(fresh())
            src.append(("birth", ()))
        assert len(new) == F
        perm = rng.permutation(F)
        new_pos = np.argsort(perm)
        links = true_links(src, pos, new_pos, deaths)
        out.codes.append(matrix(new, perm))
        out.truth.append(links)
        cur, pos = new, new_pos
    return out


def _stack(codes: list[np.ndarray], activations: list[np.ndarray] | None = None,
           steps: list[int] | None = None) -> CodeStack:
    steps = steps or STEPS[:len(codes)]
    concepts = [f"c{i}" for i in range(codes[0].shape[0])]
    return CodeStack.from_snapshots(
        Snapshot.create(s, concepts, X, None if activations is None else activations[t])
        for t, (s, X) in enumerate(zip(steps, codes, strict=True)))


def _predicted(lin: Lineage) -> list[dict[str, set]]:
    """Per consecutive pair the links of a lineage in column indices, kind -> set."""
    out = []
    for t in range(1, lin.n_steps):
        pf, cf = lin.features[t - 1], lin.features[t]
        prev_of = {int(f): i for i, f in enumerate(pf.tolist())}
        cur_of = {int(f): j for j, f in enumerate(cf.tolist())}
        step = int(lin.steps[t])
        pred: dict[str, set] = {"continue": {(prev_of[int(f)], j) for j, f in
                                             enumerate(cf.tolist()) if int(f) in prev_of},
                                "split": set(), "merge": set(), "birth": set(), "death": set()}
        for e in lin.events:
            if e.step != step:
                continue
            if e.kind == "birth":
                pred["birth"].add(cur_of[e.target])
            elif e.kind == "death":
                pred["death"].add(prev_of[e.source])
            else:
                pred[e.kind].add((prev_of[e.source], cur_of[e.target]))
        out.append(pred)
    return out


def _check_recovery(lin: Lineage, truth: list[dict[str, set]]) -> None:
    tot = {k: [0, 0, 0] for k in ("continue", "split", "merge", "birth", "death")}
    for pred, true in zip(_predicted(lin), truth, strict=True):
        for k, t in true.items():
            tot[k][0] += len(pred[k] & t)
            tot[k][1] += len(pred[k])
            tot[k][2] += len(t)
    check_recovery(tot)


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_codes_lineage_recovered(seed):
    p = planted_codes(seed=seed)
    lin = activation_lineage(_stack(p.codes))
    _check_recovery(lin, p.truth)
    assert lin.extra["values"] == "codes" and lin.extra["match_on"] == "activations"
    assert lin.extra["power"]["notes"] == [] and lin.null["kind"] == "concept_permutation"
    for pair in lin.null["pairs"]:
        assert pair["power"] and 0 < pair["threshold"] < 0.9 and pair["concepts"] == 400
        assert pair["samples"] >= 10 / 0.001


def test_planted_continuous_activations_recovered():
    """Continuous activations (magnitudes on the concept set, small noise elsewhere)."""
    p = planted_codes(seed=3)
    rng = np.random.default_rng(3)
    acts = [X * rng.uniform(0.5, 2.0, X.shape) + 0.05 * rng.random(X.shape) for X in p.codes]
    lin = activation_lineage(_stack(p.codes, [a.astype(np.float32) for a in acts]))
    assert lin.extra["values"] == "activations"
    _check_recovery(lin, p.truth)
    codes_only = activation_lineage(_stack(p.codes, acts), values="codes")
    assert codes_only.extra["values"] == "codes"


def test_independent_codes_rarely_link():
    """Independent random codes: at most 1 % of features get any link."""
    rng = np.random.default_rng(7)
    linked = total = 0
    for _ in range(4):
        A = rng.random((300, 200)) < rng.uniform(0.02, 0.2, 200)
        B = rng.random((300, 200)) < rng.uniform(0.02, 0.2, 200)
        lin = activation_lineage(_stack([A, B]))
        assert lin.null["pairs"][0]["power"]
        linked += 200 - sum(e.kind == "death" for e in lin.events)
        total += 200
    assert linked / total <= 0.01


def _chains(lin: Lineage, perms: list[np.ndarray]) -> tuple[set, set, dict]:
    """Column-order-free view: lineages as sets of (t, original column), events on them."""
    members: dict[int, set] = {}
    drift = {}
    for t, feats in enumerate(lin.features):
        for r, f in enumerate(feats.tolist()):
            members.setdefault(f, set()).add((t, int(perms[t][r])))
            drift[(t, int(perms[t][r]))] = (lin.cos_prev[t][r], lin.cos_first[t][r])
    chain = {f: frozenset(m) for f, m in members.items()}
    events = {(e.kind, e.step, None if e.source is None else chain[e.source],
               None if e.target is None else chain[e.target]) for e in lin.events}
    return set(chain.values()), events, drift


def test_lineage_independent_of_column_order():
    p = planted_codes(seed=4)
    base = activation_lineage(_stack(p.codes))
    rng = np.random.default_rng(9)
    perms = [rng.permutation(X.shape[1]) for X in p.codes]
    shuf = activation_lineage(_stack([X[:, q] for X, q in zip(p.codes, perms, strict=True)]))
    ident = [np.arange(X.shape[1]) for X in p.codes]
    c0, e0, d0 = _chains(base, ident)
    c1, e1, d1 = _chains(shuf, perms)
    assert c0 == c1 and e0 == e1
    assert base.threshold == pytest.approx(shuf.threshold, abs=1e-5)  # float32 sums
    for key, v in d0.items():
        np.testing.assert_allclose(d1[key], v, atol=1e-5)


def test_only_shared_concepts_compared():
    """A concept present at one step only does not enter the pair's patterns."""
    p = planted_codes(seed=5, steps=2)
    snaps = [Snapshot.create(STEPS[0], [f"c{i}" for i in range(400)], p.codes[0]),
             Snapshot.create(STEPS[1], [f"c{i}" for i in range(400)] + ["extra"],
                             np.vstack([p.codes[1], np.ones((1, 80), bool)]))]
    lin = activation_lineage(CodeStack.from_snapshots(snaps))
    assert lin.null["pairs"][0]["concepts"] == 400
    _check_recovery(lin, p.truth)


def test_few_concepts_report_no_power(tmp_path, capsys):
    """Five concepts: chance matches patterns perfectly, so no link passes and the summary
    and the CLI say so."""
    rng = np.random.default_rng(1)
    X = rng.random((5, 40)) < 0.4
    codes = [X, X[:, rng.permutation(40)]]  # the same patterns: still no evidence
    lin = activation_lineage(_stack(codes))
    pw = lin.extra["power"]
    assert pw["pairs_without_power"] == [STEPS[1]] and pw["notes"]
    assert pw["concepts"] == 5 and pw["concepts_for_link_at_0.9"] > 5
    assert lin.counts()["continue"] == 0 and lin.summary()["threshold"] is None
    path = tmp_path / "few.npz"
    np.savez(path, steps=np.array(STEPS[:2]), concepts=np.array([f"c{i}" for i in range(5)]),
             codes=np.stack(codes))
    out = tmp_path / "out"
    assert main(["lineage", str(path), "--match-on", "activations", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "note: no power" in err and "5 shared concepts" in err
    text = (out / "summary.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON
    s = json.loads(text)
    assert s["power"]["pairs_without_power"] == [STEPS[1]] and s["power"]["notes"]
    assert s["null"]["pairs"][0]["power"] is False


def test_constant_columns_are_never_linked():
    p = planted_codes(seed=6, steps=2)
    A, B = p.codes[0].copy(), p.codes[1].copy()
    A[:, 0] = False  # never on
    B[:, :2] = True  # always on
    lin = activation_lineage(_stack([A, B]))
    pair = lin.null["pairs"][0]
    # never on: a dead feature (marked dead, no death); always on: constant, never linked
    assert pair["dead_a"] == 1 and pair["constant_a"] == 0 and pair["constant_b"] == 2
    assert lin.dead_mask(0)[0] and not lin.dead_mask(1).any()
    pred = _predicted(lin)[0]
    assert 0 not in pred["death"] and {0, 1} <= pred["birth"]


@pytest.fixture(scope="module")
def codes_file(tmp_path_factory):
    p = planted_codes(seed=2)
    path = tmp_path_factory.mktemp("codes") / "run.npz"
    np.savez(path, steps=np.array(STEPS), concepts=np.array([f"c{i}" for i in range(400)]),
             codes=np.stack(p.codes))
    return path, p


def test_cli_file_contract(codes_file, tmp_path, capsys):
    path, p = codes_file
    out = tmp_path / "lin"
    assert main(["lineage", str(path), "--match-on", "activations", "--out", str(out),
                 "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    header, rows = csv_rows(out / "lineage.csv")
    assert header == ["step", "index", "feature"] and len(rows) == 4 * 80
    header, events = csv_rows(out / "lineage_events.csv")
    assert header == ["kind", "step", "source", "target"]
    assert {r[0] for r in events} == {"birth", "death", "split", "merge"}
    s = json.loads((out / "summary.json").read_text())
    assert s["match_on"] == "activations" and s["null"]["kind"] == "concept_permutation"
    assert 0 < s["threshold"] < 1 and set(s["counts"]) >= {"birth", "death", "continue"}
    api = lineage_of(path, match_on="activations")
    assert [f.tolist() for f in api.features] == \
        [[int(r[2]) for r in rows if int(r[0]) == s] for s in STEPS]


def test_analyze_in_activation_lineage_space(codes_file, tmp_path):
    """analyze --match-on activations runs the detectors on the realigned stack."""
    path, p = codes_file
    stack, lin, _ = load_aligned(str(path), match_on="activations")
    assert lin is not None and stack.n_features == lin.n_lineages
    for t in range(stack.n_steps):  # column j of step t is now column feature[t][j]
        np.testing.assert_array_equal(stack.dense(t)[:, lin.features[t]], p.codes[t])
    out = tmp_path / "an"
    assert main(["analyze", str(path), "--match-on", "activations", "--out", str(out),
                 "--quiet", "--no-structure"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["lineage"]["match_on"] == "activations"
    assert (out / "lineage.csv").is_file()


def test_bad_inputs_refused(codes_file, tmp_path, capsys):
    path, _ = codes_file
    out = tmp_path / "o"
    sae = tmp_path / "sae"
    for t, W in enumerate(planted_decoders(d=16, n0=8, steps=2, n_split=0, n_merge=0,
                                           n_birth=0, n_death=0).decoders):
        WRITERS["saelens"](sae / f"step_{t}", W.astype(np.float32))
    cases = [
        (["lineage", str(sae), "--match-on", "activations"], "matches codes"),
        (["lineage", str(path), "--match-on", "activations", "--null", "random"],
         "concept-permutation"),
        (["lineage", str(path), "--match-on", "activations", "--values", "activations"],
         "continuous activations"),
        (["lineage", str(path), "--values", "codes"], "--values goes with"),
        (["lineage", str(tmp_path / "nope.npz"), "--match-on", "activations"], "nope.npz"),
        (["compare", str(sae / "step_0"), str(sae / "step_1"), "--match-on", "activations"],
         "compare matches two dictionaries"),
    ]
    for args, msg in cases:
        assert main([*args, "--out", str(out), "--quiet"]) == 2, args
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert not out.exists()


def test_null_helpers():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 30))
    Y = 0.5 * X + rng.standard_normal((50, 30))
    Y[:, :5] = np.nan
    r = masked_pearson(X, Y)
    want = [np.corrcoef(X[i, 5:], Y[i, 5:])[0, 1] for i in range(50)]
    np.testing.assert_allclose(r, want, atol=1e-9)
    A = np.zeros((4, 2), np.float32)
    thr, one, samples, n = permutation_null(A, A, 0.01)
    assert thr == np.inf and samples == 0
    with pytest.raises(InputError):
        activation_lineage(_stack([X[:, :3] > 0, Y[:, :3] > 0]), alpha=1.5)


def test_ingest_codes_in_activation_lineage_space(codes_file, graph_store):
    """ingest with match_on=activations writes one Feature per lineage and the split/merge
    relationships of the activation-matched lineage."""
    from ontochron.graph.ingest import ingest

    path, _ = codes_file
    lin = lineage_of(path, match_on="activations")
    report = ingest(str(path), run="act_run", store=graph_store, progress=False,
                    config={"structure": False},
                    lineage_options={"match_on": "activations"})
    assert report.changed > 0
    run = graph_store.run("MATCH (r:Run {run_id: 'act_run'}) RETURN r.n_features AS n")[0]
    assert run["n"] == lin.n_lineages
    n_split = graph_store.run("MATCH (:Feature)-[s:SPLITS_INTO {run_id: 'act_run'}]->"
                              "(:Feature) RETURN count(s) AS n")[0]["n"]
    assert n_split == lin.counts()["split"] > 0


def test_low_power_reported_and_concepts_needed_consistent():
    """Continuous patterns over 8 concepts: near-identical copies still link, but the
    threshold is above 0.9 and the summary says so; at the advised number of concepts the
    threshold is near 0.9 (below it with a margin for one permutation sample)."""
    rng = np.random.default_rng(0)

    def run(C: int):
        A = rng.standard_normal((C, 40)).astype(np.float32)
        B = A[:, rng.permutation(40)] + 0.01 * rng.standard_normal((C, 40)).astype(np.float32)
        return activation_lineage(_stack([A > 0, B > 0], [A, B]))

    lin = run(8)
    pw = lin.extra["power"]
    assert pw["pairs_low_power"] == [STEPS[1]] and "low power" in pw["notes"][0]
    assert lin.null["pairs"][0]["threshold"] > 0.9 and lin.counts()["continue"] == 40
    need = pw["concepts_for_link_at_0.9"]
    assert need > 8
    ok = run(need)
    assert ok.null["pairs"][0]["threshold"] < 0.93
    assert ok.null["pairs"][0]["threshold"] < lin.null["pairs"][0]["threshold"]
