"""Tenancy: workspaces, members and roles, member clusters, namespace bindings."""
