"""Serving with several worker processes: their listening sockets, how connections are
spread over the workers, and the supervisor that ``kb serve --workers N`` hands over to
(``python -m api.serving``).

This module imports uvicorn only, never the app or the knowledge base: the supervisor
process runs it and stays small.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("uvicorn.error")

#: uvicorn's exit status for a worker that cannot start (the supervisor stops then)
STARTUP_FAILURE = 3


class NoDelayConfig(uvicorn.Config):
    """uvicorn's configuration, with Nagle's algorithm off on the listening sockets and,
    where the system has it, one ``SO_REUSEPORT`` socket per worker.

    Nagle: for ``workers > 1`` uvicorn binds the socket itself, with protocol number 0,
    and asyncio sets ``TCP_NODELAY`` only on accepted sockets whose protocol reads as
    TCP (uvicorn issue 3149). Without it, every answer on a kept-alive connection after
    the first waited for the client's delayed ACK: 64 ms instead of 20 ms per search on
    3,000 reports. Linux copies the option from the listening socket to each accepted
    connection.
    """

    def bind_socket(self) -> socket.socket:
        """A listening socket bound to the configured address, with ``TCP_NODELAY`` where
        it is a TCP socket and ``SO_REUSEPORT`` where the system has it: every call
        gives a socket of its own on the same port (``BalancedMultiprocess``)."""
        if self.uds is not None or self.fd is not None or not hasattr(socket, "SO_REUSEPORT"):
            sock = super().bind_socket()
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        family = socket.AF_INET6 if self.host and ":" in self.host else socket.AF_INET
        sock = socket.socket(family=family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            logger.error("cannot listen on %s:%s: %s", self.host, self.port, exc)
            sys.exit(STARTUP_FAILURE)
        self.port = sock.getsockname()[1]  # port 0: every later socket takes this one
        sock.set_inheritable(True)
        return sock


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing is bound to ``host:port``: checked without ``SO_REUSEPORT``, which
    would let a second server share the port silently with a first one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family=family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class BalancedMultiprocess(Multiprocess):
    """uvicorn's worker supervisor, with a listening socket per worker.

    With one shared socket the worker whose event loop wakes first accepts every
    connection that is waiting, and a kept-alive connection stays with its worker: 16
    clients connecting at once all landed on one of two workers, which then served
    them alone (65 requests/s with two workers, as with one). With ``SO_REUSEPORT`` the
    kernel spreads new connections over the workers' sockets. Each start of a worker
    (first start, restart, more workers) takes a new socket from ``sockets``.
    """

    def __init__(self, config: NoDelayConfig) -> None:
        super().__init__(config, sockets=[])
        logger.info(
            "serving on http://%s:%d with %d worker processes (one socket each)",
            config.host,
            config.port,
            config.workers,
        )

    @property
    def sockets(self) -> list[socket.socket]:
        """A new socket on the configured port, for the worker started with it."""
        return [self.config.bind_socket()]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """Ignored: every worker gets a socket of its own."""


#: the app each worker builds: the knowledge base named by ``KB_INDEX``
WORKER_APP = "api.app:app_from_environment"


def supervise(host: str, port: int, workers: int) -> None:
    """Start ``workers`` processes serving ``WORKER_APP`` on ``host:port``, each with a
    socket of its own, and restart any that dies until stopped (SIGINT or SIGTERM)."""
    config = NoDelayConfig(WORKER_APP, factory=True, workers=workers, host=host, port=port)
    BalancedMultiprocess(config).run()


def main(argv: list[str] | None = None) -> None:
    """The supervisor's command line; ``kb serve --workers N`` checks the index and the
    port, then replaces its own process with this one."""
    parser = argparse.ArgumentParser(
        prog="python -m api.serving",
        description="Supervise worker processes that serve the knowledge base in KB_INDEX "
        "(started by 'kb serve --workers N', which checks the index and the port first).",
    )
    parser.add_argument("--host", required=True, help="address to listen on")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--workers", type=int, required=True, help="number of processes")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    supervise(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
