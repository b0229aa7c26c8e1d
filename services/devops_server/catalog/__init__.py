"""The pipeline catalog in devops-server: templates, pipeline groups, global build parameters."""
