// Bloom search phrase "most stable features": the 25 features with the highest stability
// (named query feature_stability).
// @phrase most stable features
MATCH (f:Feature)
WHERE f.stability IS NOT NULL
RETURN f ORDER BY f.stability DESC LIMIT 25
