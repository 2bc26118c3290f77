// Schema: index on Feature(run_id, fork) for time slices of alive features. Idempotent.
CREATE INDEX ontochron_feature_fork IF NOT EXISTS
FOR (x:Feature) ON (x.run_id, x.fork)
