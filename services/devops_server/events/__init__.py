"""Jenkins events: received from event-proxy, checked, recorded once, applied to runs."""
