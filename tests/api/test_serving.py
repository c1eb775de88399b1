"""The socket that `kb serve --workers N` shares among its processes."""

from __future__ import annotations

import socket

from api.serving import NoDelayConfig


def test_connections_of_the_shared_socket_send_at_once():
    # Nagle's algorithm held each kept-alive answer back until the client's delayed ACK
    # (about 40 ms); the option must reach the connections accepted from the socket
    config = NoDelayConfig("api.app:app_from_environment", host="127.0.0.1", port=0)
    listener = config.bind_socket()
    try:
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2], timeout=5):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
