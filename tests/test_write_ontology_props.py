"""``write_ontology`` called directly (no ``ingest``) still stores every Run property the
readers rely on, so report and plot work on a run written that way."""

from __future__ import annotations

from ontochron.viz.graphdata import load_run
from ontochron.viz.report import write_report
from tests.test_queries import CONCEPTS, N_FEATURES, RUN, STEPS


def test_hand_written_run_has_its_properties(hand_store):
    head = hand_store.run("MATCH (r:Run {run_id: $run_id}) RETURN r.n_features AS n, "
                          "r.n_concepts AS c, r.config AS config, r.mode AS mode", run_id=RUN)
    assert head[0]["n"] == N_FEATURES
    assert head[0]["c"] == len(CONCEPTS)
    assert head[0]["config"] and head[0]["mode"]


def test_report_of_hand_written_run(hand_store, tmp_path):
    data = load_run(hand_store, RUN)
    assert data is not None and data.n_features == N_FEATURES
    assert list(data.steps) == STEPS
    out = write_report(data, tmp_path / "r.html")
    html = out.read_text()
    assert "<html" in html.lower() and RUN in html
