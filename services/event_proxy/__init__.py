"""event-proxy: makes the Jenkins Generic Event stream reliable.

The Generic Event plugin posts every run and item event once, fire and forget. event-proxy
runs beside Jenkins and takes those posts on localhost; it stores each event in an on-disk
outbox before answering (`outbox`), then forwards it to devops-server with a token, in order
per run, retrying with backoff under a rate limit until it lands (`forwarder`). `app` holds
the HTTP endpoints and the wiring; `settings` the knobs; `metrics` what Prometheus sees.
"""

from services.event_proxy.app import EventProxy
from services.event_proxy.settings import EventProxySettings

__all__ = ["EventProxy", "EventProxySettings"]
