"""devops-server's PostgreSQL state: the tables, the engine, migrations."""
