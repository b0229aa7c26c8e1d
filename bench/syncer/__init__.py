"""Benchmark of the syncer: convergence of a burst of workspaces, and its cost at rest."""
