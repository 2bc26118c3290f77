// Schema: index on Triad(run_id, fork) for time slices of triads. Idempotent.
CREATE INDEX ontochron_triad_fork IF NOT EXISTS
FOR (x:Triad) ON (x.run_id, x.fork)
