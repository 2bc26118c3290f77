// Schema: natural key of Triad nodes is unique (run_id, input_a, input_b, output, valid_from). Idempotent.
CREATE CONSTRAINT ontochron_triad_key IF NOT EXISTS
FOR (x:Triad) REQUIRE (x.run_id, x.input_a, x.input_b, x.output, x.valid_from) IS UNIQUE
