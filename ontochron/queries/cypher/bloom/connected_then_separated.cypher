// Bloom search phrase "concepts that connected then separated": CONNECTED intervals that
// closed (named query connected_then_separated).
// @phrase concepts that connected then separated
MATCH (a)-[r:CONNECTED]->(b)
WHERE r.valid_to IS NOT NULL
RETURN a, r, b
