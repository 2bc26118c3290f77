// Write causal tests of features at one checkpoint (ontochron verify), one row per feature.
// $rows: list of maps {run_id, feature, step, method, effect, ci_low, ci_high, p, q, n, n_own,
// n_other, selectivity, hedges_g, cohen_d, causal, alpha, alternative, n_resamples, seed,
// dict_index}: feature is the Feature.index (the lineage on a lineage run, whose tested
// dictionary latent is dict_index; null on a fixed dictionary).
// Creates or updates (:CausalTest)-[:TESTS]->(:Feature) and -[:AT]->(:Checkpoint); the run's
// Feature and Checkpoint nodes must already be stored (rows without them are skipped).
UNWIND $rows AS row
MATCH (f:Feature {run_id: row.run_id, index: row.feature})
MATCH (k:Checkpoint {run_id: row.run_id, step: row.step})
MERGE (t:CausalTest {run_id: row.run_id, feature: row.feature, step: row.step, method: row.method})
SET t.effect = row.effect, t.ci_low = row.ci_low, t.ci_high = row.ci_high, t.p = row.p,
    t.q = row.q, t.n = row.n, t.n_own = row.n_own, t.n_other = row.n_other,
    t.selectivity = row.selectivity, t.hedges_g = row.hedges_g, t.cohen_d = row.cohen_d,
    t.causal = row.causal, t.alpha = row.alpha, t.alternative = row.alternative,
    t.n_resamples = row.n_resamples, t.seed = row.seed, t.dict_index = row.dict_index
MERGE (t)-[:TESTS]->(f)
MERGE (t)-[:AT]->(k)
