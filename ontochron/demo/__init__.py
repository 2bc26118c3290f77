"""``ontochron demo``: train a small model on bundled digits, extract its codes, analyse them,
train one SAE per checkpoint and match them into lineages, then fill the graph, verify causally,
plot and report. ``pipeline`` runs the stages, ``model`` is the network and its data, ``sae``
the per-checkpoint SAEs and their lineage, ``console`` what the terminal shows."""

from ontochron.demo.pipeline import (
    DEMO_RUN,
    DEMO_SAE_RUN,
    DIGIT_CONCEPT,
    PROBE_CONCEPT,
    STAGES,
    DemoOptions,
    DemoResult,
    probe_concepts,
    run_demo,
)

__all__ = ["DEMO_RUN", "DEMO_SAE_RUN", "DIGIT_CONCEPT", "PROBE_CONCEPT", "STAGES", "DemoOptions",
           "DemoResult", "probe_concepts", "run_demo"]
