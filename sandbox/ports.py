"""Free TCP ports for a local stack that must know its ports before it starts.

Binding port 0 and closing the socket hands out a port from the kernel's ephemeral range, the
same range it picks the source port of every outgoing connection from. Between that probe and
the server's own bind, a connection to PostgreSQL or to a stand-in can take the port, and the
server then fails with "address already in use". The ports handed out here come from below
the ephemeral range instead, where only an explicit bind can take them, and none is handed out
twice by one process, so a service stopped and started again on its port keeps it.
"""

import itertools
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_EPHEMERAL = (32768, 60999)
_LOWEST = 10000  # below this sit the well-known and registered ports other software uses


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing source ports (Linux's default where it cannot be read)."""
    try:
        low, high = (int(part) for part in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return _LINUX_EPHEMERAL
    return low, high


def _candidates() -> Iterator[int]:
    low, high = ephemeral_range()
    if low - _LOWEST >= 1000:
        span = range(_LOWEST, low)
    elif 65535 - high >= 1000:
        span = range(high + 1, 65536)
    else:  # the whole space is ephemeral: the bind check below is all that is left
        span = range(_LOWEST, 65536)
    # Processes that start at the same moment begin at different places in the span.
    start = os.getpid() * 7919 % len(span)
    ordered = [*span[start:], *span[:start]]
    return itertools.cycle(ordered)


_lock = threading.Lock()
_next = _candidates()
_given: set[int] = set()


def _is_free(port: int) -> bool:
    # No SO_REUSEADDR: a port still in TIME_WAIT counts as taken, as it would for a server
    # that does not set the option.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that is free now and that this process has not handed out before."""
    with _lock:
        for _ in range(65536):
            port = next(_next)
            if port not in _given and _is_free(port):
                _given.add(port)
                return port
    raise OSError("no free TCP port left outside the ephemeral range")
