"""The socket that `kb serve --workers N` shares among its processes."""

from __future__ import annotations

import socket
import subprocess
import sys

from api.serving import NoDelayConfig, port_is_free


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


def test_each_worker_gets_a_socket_of_its_own_on_one_port():
    config = NoDelayConfig("api.app:app_from_environment", host="127.0.0.1", port=0, workers=2)
    first = config.bind_socket()
    second = config.bind_socket()
    try:
        assert first.getsockname() == second.getsockname()
        assert first.fileno() != second.fileno()
        for sock in (first, second):
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0
    finally:
        first.close()
        second.close()


def test_a_port_in_use_is_seen_before_sharing_it_silently():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)


def test_the_supervisor_command_explains_itself_and_refuses_bad_arguments():
    shown = subprocess.run(
        [sys.executable, "-m", "api.serving", "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "--workers" in shown.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "api.serving", "--host", "127.0.0.1", "--port", "1"]
        + ["--workers", "0"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "--workers must be at least 1" in bad.stderr and "Traceback" not in bad.stderr
