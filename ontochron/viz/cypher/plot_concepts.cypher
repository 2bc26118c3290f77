// Plot data: the run's concepts with their index.
// $run_id: the run.
MATCH (c:Concept {run_id: $run_id}) RETURN c.name AS name, c.index AS index
