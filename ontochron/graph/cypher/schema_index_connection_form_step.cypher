// Schema: index on ConnectionForm(run_id, step) for ConnectionForm events at a step. Idempotent.
CREATE INDEX ontochron_connection_form_step IF NOT EXISTS
FOR (x:ConnectionForm) ON (x.run_id, x.step)
