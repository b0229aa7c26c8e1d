"""Jenkins events through event-proxy into devops-server, PostgreSQL and the REST API."""
