// Schema: natural key of Concept nodes is unique (run_id, name). Idempotent.
CREATE CONSTRAINT ontochron_concept_key IF NOT EXISTS
FOR (x:Concept) REQUIRE (x.run_id, x.name) IS UNIQUE
