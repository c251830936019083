"""Wire formats of the three linkback protocols: parse request bodies, render responses."""
