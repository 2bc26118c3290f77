// Plot data: the causal tests stored for a run.
// $run_id: the run.
MATCH (t:CausalTest {run_id: $run_id}) RETURN properties(t) AS p
