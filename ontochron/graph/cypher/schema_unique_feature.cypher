// Schema: natural key of Feature nodes is unique (run_id, index). Idempotent.
CREATE CONSTRAINT ontochron_feature_key IF NOT EXISTS
FOR (x:Feature) REQUIRE (x.run_id, x.index) IS UNIQUE
