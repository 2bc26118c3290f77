// Labelling schema: index on DESCRIBES(run_id, fork) for time slices of labels. Idempotent.
CREATE INDEX ontochron_describes_fork IF NOT EXISTS
FOR ()-[x:DESCRIBES]-() ON (x.run_id, x.fork)
