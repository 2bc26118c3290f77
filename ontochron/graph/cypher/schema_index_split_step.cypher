// Schema: index on Split(run_id, step) for Split events at a step. Idempotent.
CREATE INDEX ontochron_split_step IF NOT EXISTS
FOR (x:Split) ON (x.run_id, x.step)
