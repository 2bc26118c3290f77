// Schema: index on Birth(run_id, step) for Birth events at a step. Idempotent.
CREATE INDEX ontochron_birth_step IF NOT EXISTS
FOR (x:Birth) ON (x.run_id, x.step)
