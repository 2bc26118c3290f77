// Schema: index on Event(run_id, step) for events at a step. Idempotent.
CREATE INDEX ontochron_event_step IF NOT EXISTS
FOR (x:Event) ON (x.run_id, x.step)
