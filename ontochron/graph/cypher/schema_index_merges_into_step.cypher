// Schema: index on MERGES_INTO(run_id, step) relationships for per-run reads and splits/merges
// between two steps. Idempotent.
CREATE INDEX ontochron_merges_into_step IF NOT EXISTS
FOR ()-[x:MERGES_INTO]-() ON (x.run_id, x.step)
