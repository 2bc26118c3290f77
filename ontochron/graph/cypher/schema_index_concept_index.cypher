// Schema: index on Concept(run_id, index) for concepts by position. Idempotent.
CREATE INDEX ontochron_concept_index IF NOT EXISTS
FOR (x:Concept) ON (x.run_id, x.index)
