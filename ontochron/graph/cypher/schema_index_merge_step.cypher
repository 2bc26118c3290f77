// Schema: index on Merge(run_id, step) for Merge events at a step. Idempotent.
CREATE INDEX ontochron_merge_step IF NOT EXISTS
FOR (x:Merge) ON (x.run_id, x.step)
