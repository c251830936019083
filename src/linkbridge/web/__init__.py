"""HTTP layer: the route table and middleware."""
