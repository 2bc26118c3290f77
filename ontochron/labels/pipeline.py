"""Run a labeler over many features: content-addressed cache first, then the labeler with
bounded concurrency under a spending budget, each distinct evidence labelled once; and the
whole ``ontochron label`` flow (read evidence from the graph, label, write back)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ontochron.labels.cache import LabelCache, cache_key
from ontochron.labels.cost import Budget
from ontochron.labels.evidence import Evidence, EvidenceConfig
from ontochron.labels.result import LabelFailure, LabelFatal, LabelResult

log = logging.getLogger(__name__)


class Labeler(Protocol):
    """What the pipeline needs from a labeler (LLMLabeler, EmbeddingLabeler)."""

    method: str
    model: str
    prompt_version: str

    def settings(self) -> dict[str, Any]: ...
    def estimate(self, ev: Evidence) -> tuple[int, int, float]: ...
    def label(self, ev: Evidence) -> LabelResult: ...


@dataclass
class LabelReport:
    """What a labelling run did. ``results`` holds one label per (feature, step) labelled."""

    method: str
    model: str
    results: list[LabelResult] = field(default_factory=list)
    requested: int = 0  # (feature, step) pairs asked for
    no_evidence: int = 0  # pairs without any activating concept at the step
    cached: int = 0  # pairs answered from the cache (or by an identical evidence this run)
    labelled: int = 0  # distinct evidences sent to the labeler and answered
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (feature, step, why)
    over_budget: int = 0  # pairs not labelled because the budget would be exceeded
    stopped: int = 0  # pairs not started because the run stopped (fatal error)
    fatal: str | None = None  # why the run stopped early, if it did
    spent_usd: float = 0.0
    written: Any = None  # graph.WriteReport when written

    def summary(self) -> str:
        """A few lines for the CLI."""
        lines = [f"{self.method} labels ({self.model}): {self.requested} feature-steps asked, "
                 f"{self.labelled} labelled, {self.cached} from cache, {len(self.failed)} "
                 f"failed, {self.no_evidence} without evidence, {self.over_budget} over budget; "
                 f"cost ${self.spent_usd:.4f}"]
        if self.written is not None:
            w = self.written
            lines.append(f"graph: {w.created} Label versions created, {w.intervals_updated} "
                         f"intervals updated, {w.mirrored} features mirrored")
        for f, s, why in self.failed[:10]:
            lines.append(f"  failed: feature {f} at step {s}: {why}")
        if len(self.failed) > 10:
            lines.append(f"  ... and {len(self.failed) - 10} more failures")
        if self.over_budget:
            lines.append(f"stopped by --max-cost-usd: {self.over_budget} feature-steps left "
                         "unlabelled; raise the budget and re-run (labels so far are cached)")
        if self.not_produced:
            lines.append(self.shortfall())
        return "\n".join(lines)

    @property
    def not_produced(self) -> int:
        """Feature-steps with evidence that got no label: failed, over the budget, or not
        started because the run stopped. (A feature-step without evidence has nothing to
        label and is not counted.)"""
        return len(self.failed) + self.over_budget + self.stopped

    def shortfall(self) -> str:
        """One line: how many of the labels asked for could not be produced, and why."""
        parts = [f"{n} {why}" for n, why in ((len(self.failed), "failed"),
                                             (self.over_budget, "over the budget"),
                                             (self.stopped, "stopped"))
                 if n]
        if self.fatal:
            parts.append(f"the run stopped: {self.fatal}")
        wanted = self.requested - self.no_evidence
        return (f"{self.not_produced} of {wanted} labels could not be produced: "
                + ", ".join(parts))


def key_for(labeler: Labeler, ev: Evidence) -> str:
    """The cache key of labelling ``ev`` with ``labeler``."""
    return cache_key(labeler.method, labeler.model, labeler.prompt_version, ev.hash,
                     labeler.settings())


def _for(res: LabelResult, ev: Evidence, *, cached: bool) -> LabelResult:
    return replace(res, feature=ev.feature, step=ev.step, cached=cached,
                   cost_usd=0.0 if cached else res.cost_usd)


def _group(labeler: Labeler, evidences: Sequence[Evidence]) -> dict[str, list[Evidence]]:
    """Evidences by cache key, in first-seen order: each distinct key is labelled once."""
    groups: dict[str, list[Evidence]] = {}
    for ev in evidences:
        groups.setdefault(key_for(labeler, ev), []).append(ev)
    return groups


def _answer_from_cache(labeler: Labeler, groups: dict[str, list[Evidence]],
                       cache: LabelCache | None, rep: LabelReport) -> list[str]:
    """Record every group the cache answers; return the keys still to label, in order."""
    todo: list[str] = []
    for key, evs in groups.items():
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            todo.append(key)
            continue
        first = evs[0]
        base = LabelResult.from_cache(hit, feature=first.feature, step=first.step,
                                      method=labeler.method, model=labeler.model,
                                      prompt_version=labeler.prompt_version,
                                      evidence_hash=first.hash)
        rep.results.extend(_for(base, ev, cached=True) for ev in evs)
        rep.cached += len(evs)
    return todo


@dataclass
class _Recorder:
    """Turns one finished labelling job into the report, the budget and the cache."""

    labeler: Labeler
    groups: dict[str, list[Evidence]]
    cache: LabelCache | None
    budget: Budget
    rep: LabelReport

    def record(self, key: str, fut: Future[LabelResult], reserved: float) -> None:
        """Settle the job's reservation to what its answered requests cost (a request that
        got no answer costs nothing) and record its label, failure or fatal stop."""
        evs, rep = self.groups[key], self.rep
        try:
            res = fut.result()
        except LabelFatal as exc:
            self._spend(reserved, exc.cost_usd)
            rep.fatal = rep.fatal or str(exc)
            rep.stopped += len(evs)
            return
        except LabelFailure as exc:
            self._spend(reserved, exc.cost_usd)
            rep.failed.extend((ev.feature, ev.step, str(exc)) for ev in evs)
            return
        self._spend(reserved, res.cost_usd)
        if self.cache is not None:
            self.cache.put(key, res.cache_value(), method=self.labeler.method,
                           model=self.labeler.model)
        rep.labelled += 1
        rep.results.append(_for(res, evs[0], cached=False))
        rep.results.extend(_for(res, ev, cached=True) for ev in evs[1:])
        rep.cached += len(evs) - 1

    def _spend(self, reserved: float, actual: float) -> None:
        self.budget.settle(reserved, actual)
        self.rep.spent_usd += actual


def _label_offline(labeler: Any, todo: list[str], groups: dict[str, list[Evidence]],
                   recorder: _Recorder) -> None:
    """Offline labelers (``label_many``): one vectorized batch, nothing to spend."""
    for key, res in zip(todo, labeler.label_many([groups[k][0] for k in todo]), strict=True):
        fut: Future[LabelResult] = Future()
        if isinstance(res, LabelFailure):
            fut.set_exception(res)
        else:
            fut.set_result(res)
        recorder.record(key, fut, 0.0)


def _label_concurrently(labeler: Labeler, todo: list[str], groups: dict[str, list[Evidence]],
                        budget: Budget, recorder: _Recorder, concurrency: int,
                        progress: bool) -> list[str]:
    """Label ``todo`` with at most ``concurrency`` jobs in flight, each started only when its
    worst-case estimate fits the budget and the run has not stopped; returns the keys never
    started."""
    rep = recorder.rep
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc=f"labelling ({labeler.method})", unit="feature")
    pending: dict[Future[LabelResult], tuple[str, float]] = {}
    queue = list(reversed(todo))  # next job at the end
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            while True:
                while queue and len(pending) < concurrency and rep.fatal is None:
                    cost = labeler.estimate(groups[queue[-1]][0])[2]
                    if not budget.try_reserve(cost):
                        break  # wait for jobs in flight to settle, or stop if none
                    key = queue.pop()
                    pending[pool.submit(labeler.label, groups[key][0])] = (key, cost)
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key, cost = pending.pop(fut)
                    recorder.record(key, fut, cost)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return queue


def run_labeler(labeler: Labeler, evidences: Sequence[Evidence], *,
                cache: LabelCache | None = None, budget: Budget | None = None,
                concurrency: int = 4, progress: bool = False,
                report: LabelReport | None = None) -> LabelReport:
    """Label every evidence: cached keys are reused, each distinct key is labelled once
    (``concurrency`` requests in flight at most), a job starts only if its worst-case cost
    estimate fits the budget. A LabelFatal stops new jobs and is recorded in the report."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    rep = report or LabelReport(labeler.method, labeler.model)
    rep.requested += len(evidences)
    budget = budget or Budget(None)
    groups = _group(labeler, evidences)
    todo = _answer_from_cache(labeler, groups, cache, rep)
    recorder = _Recorder(labeler, groups, cache, budget, rep)
    if hasattr(labeler, "label_many"):
        _label_offline(labeler, todo, groups, recorder)
        return rep
    left = _label_concurrently(labeler, todo, groups, budget, recorder, concurrency, progress)
    n_left = sum(len(groups[k]) for k in left)
    if rep.fatal is not None:
        rep.stopped += n_left
    else:
        rep.over_budget += n_left
    return rep


@dataclass(frozen=True)
class Plan:
    """One prompt a dry run would send: the evidence, whether the cache has it, the chat
    messages (LLM only) and the estimated tokens and dollars."""

    evidence: Evidence
    cached: bool
    messages: list[dict[str, str]]
    prompt_tokens: int
    completion_tokens: int
    usd: float


def plan(labeler: Labeler, evidences: Sequence[Evidence],
         cache: LabelCache | None = None) -> list[Plan]:
    """What :func:`run_labeler` would do, without calling anything: one Plan per distinct
    evidence (duplicates are labelled once)."""
    from ontochron.labels.llm import label_messages

    seen: set[str] = set()
    out = []
    for ev in evidences:
        key = key_for(labeler, ev)
        if key in seen:
            continue
        seen.add(key)
        hit = cache is not None and cache.get(key) is not None
        p, c, usd = (0, 0, 0.0) if hit else labeler.estimate(ev)
        msgs = label_messages(ev) if labeler.method == "llm" else []
        out.append(Plan(ev, hit, msgs, p, c, usd))
    return out


def label_run(store: Any, labeler: Labeler, *, run_id: str | None = None,
              steps: Sequence[int] | None = None, features: Sequence[int] | None = None,
              unlabeled: bool = False, changed_since: int | None = None,
              evidence: EvidenceConfig | None = None, cache: LabelCache | None = None,
              max_cost_usd: float | None = None, concurrency: int = 4,
              progress: bool = False, write: bool = True) -> LabelReport:
    """Label a stored run's features at ``steps`` (default: its last checkpoint) and write the
    labels onto the graph. Features are chosen as in :func:`graph.select_features`."""
    from ontochron.labels import graph as lg

    run_id = lg.resolve_run(store, run_id)
    chosen_steps = lg.choose_steps(store, run_id, steps)
    feats = lg.select_features(store, run_id, features=features, unlabeled=unlabeled,
                               changed_since=changed_since)
    rep = LabelReport(labeler.method, labeler.model)
    budget = Budget(max_cost_usd)
    evs: list[Evidence] = []
    for s in chosen_steps:
        got = lg.read_evidence(store, run_id, s, feats, evidence)
        rep.no_evidence += len(feats) - len(got)
        evs.extend(got)
    rep.requested += rep.no_evidence
    run_labeler(labeler, evs, cache=cache, budget=budget, concurrency=concurrency,
                progress=progress, report=rep)
    if write and rep.results:
        rep.written = lg.write_labels(store, run_id, rep.results)
    return rep
