"""Talking to member clusters through kubernetes-asyncio."""
