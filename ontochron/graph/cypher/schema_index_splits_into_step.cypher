// Schema: index on SPLITS_INTO(run_id, step) relationships for per-run reads and splits/merges
// between two steps. Idempotent.
CREATE INDEX ontochron_splits_into_step IF NOT EXISTS
FOR ()-[x:SPLITS_INTO]-() ON (x.run_id, x.step)
