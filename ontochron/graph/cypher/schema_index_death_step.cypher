// Schema: index on Death(run_id, step) for Death events at a step. Idempotent.
CREATE INDEX ontochron_death_step IF NOT EXISTS
FOR (x:Death) ON (x.run_id, x.step)
