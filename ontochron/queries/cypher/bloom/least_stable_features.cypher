// Bloom search phrase "least stable features": the 25 features with the lowest stability
// (named query feature_stability).
// @phrase least stable features
MATCH (f:Feature)
WHERE f.stability IS NOT NULL
RETURN f ORDER BY f.stability ASC LIMIT 25
