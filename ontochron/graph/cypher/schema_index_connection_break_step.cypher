// Schema: index on ConnectionBreak(run_id, step) for ConnectionBreak events at a step. Idempotent.
CREATE INDEX ontochron_connection_break_step IF NOT EXISTS
FOR (x:ConnectionBreak) ON (x.run_id, x.step)
