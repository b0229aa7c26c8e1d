"""The port allocator for local stacks stays out of the kernel's ephemeral range."""

import socket

from sandbox.ports import ephemeral_range, free_port


def test_ports_are_outside_the_ephemeral_range_and_never_repeat() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(200)]

    assert len(set(ports)) == len(ports)
    assert all(not low <= port <= high for port in ports)


def test_a_port_handed_out_can_be_bound() -> None:
    port = free_port()

    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_a_port_someone_else_listens_on_is_skipped() -> None:
    # The allocator walks its range in order: hold the ports just after the last one it gave,
    # bound outside it, and the next one it gives must be none of them.
    last = free_port()
    held = []
    try:
        for port in range(last + 1, last + 6):
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            sock.listen()
            held.append(sock)
        assert held

        port = free_port()

        assert port not in {sock.getsockname()[1] for sock in held}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
    finally:
        for sock in held:
            sock.close()
