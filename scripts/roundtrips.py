"""Count database round trips: a TCP proxy between the app and Postgres that watches the turns.

A round trip is the client sending after the server has answered (or the first send on a
connection): however many messages a pipeline packs into one send, the client waits once.
"Answered" is read from the protocol, not from the mere arrival of bytes: the server has
answered when it says it is ready for the next request (ReadyForQuery), asks for authentication
or for COPY data. A large result that the server starts streaming while the client is still
sending the rest of its pipeline (the COMMIT, the Sync) is not an answer the client waited for;
nor is a lone Flush or Terminate a new request.

    proxy = RoundTripProxy(target_socket_dir="/path/of/pg/socket", target_port=5432).start()
    url = proxy.database_url("zentro_api", "zentro")
    ...
    with proxy.counting() as count:
        do_the_request()
    print(count.value)

`latency_ms` models a network between the app and the database (Vercel to Neon): every chunk
the server sends reaches the client that much later, so each round trip costs `latency_ms`
more. It is a delay line, not a throttle: chunks in flight overlap, and a pipeline of several
statements still pays it once. 0 (the default) forwards at once.

`ProxyProcess` runs the same proxy in a process of its own (the list benchmark uses it, so that the
proxy's threads do not compete with the measured app for the GIL). Used by the list benchmark
(scripts/bench_orders.py) and by a test that keeps the list
endpoint at its round-trip budget. Local tooling only: the URL turns TLS and GSS encryption
off, because the proxy reads the protocol in the clear.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Server messages the client waits for: ReadyForQuery, an authentication request, CopyInResponse.
_ANSWERS = frozenset(b"ZRG")
# A client send that is only one of these awaits nothing: Flush, Terminate.
_NOT_REQUESTS = frozenset({b"H\x00\x00\x00\x04", b"X\x00\x00\x00\x04"})


@dataclass
class Count:
    value: int = 0


class _ServerMessages:
    """The message types in the server's byte stream, however it is cut into chunks."""

    def __init__(self) -> None:
        self._header = b""
        self._skip = 0

    def answers(self, data: bytes) -> bool:
        """Whether a message the client waits for starts in `data`."""
        found = False
        at, end = 0, len(data)
        while at < end:
            if self._skip:
                step = min(self._skip, end - at)
                at += step
                self._skip -= step
                continue
            part = data[at : at + 5 - len(self._header)]
            self._header += part
            at += len(part)
            if len(self._header) == 5:
                found = found or self._header[0] in _ANSWERS
                self._skip = int.from_bytes(self._header[1:], "big") - 4
                self._header = b""
        return found


class RoundTripProxy:
    def __init__(self, *, target_socket_dir: str, target_port: int = 5432, latency_ms: float = 0.0) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")
        self.latency = latency_ms / 1000
        self.target = str(Path(target_socket_dir) / f".s.PGSQL.{target_port}")
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._counts: list[Count] = []
        self._stopped = threading.Event()

    def start(self) -> RoundTripProxy:
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True, name="roundtrip-proxy").start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def database_url(self, user: str, database: str) -> str:
        return _database_url(self.port, user, database)

    @contextmanager
    def counting(self) -> Iterator[Count]:
        count = Count()
        with self._lock:
            self._counts.append(count)
        try:
            yield count
        finally:
            with self._lock:
                self._counts.remove(count)

    def _turn(self) -> None:
        with self._lock:
            for count in self._counts:
                count.value += 1

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            # Forward each chunk at once: with Nagle's algorithm a reply split over two sends waits
            # for the client's delayed ACK (40 ms on Linux), a stall no real network adds.
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            state = {"answered": True}  # the first client send counts as a turn
            threading.Thread(target=self._from_client, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._from_server, args=(upstream, client, state), daemon=True).start()

    def _from_client(self, source: socket.socket, sink: socket.socket, state: dict[str, bool]) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if data not in _NOT_REQUESTS and state["answered"]:
                    state["answered"] = False
                    self._turn()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source, sink)

    def _from_server(self, source: socket.socket, sink: socket.socket, state: dict[str, bool]) -> None:
        """Server to client, each chunk delivered `latency` after it arrived (in order, overlapping)."""
        messages = _ServerMessages()
        line: queue.SimpleQueue[tuple[float, bytes, bool]] = queue.SimpleQueue()
        if self.latency:
            threading.Thread(target=self._deliver, args=(line, source, sink, state), daemon=True).start()
        try:
            while True:
                data = source.recv(65536)
                answers = messages.answers(data)
                if self.latency:
                    line.put((time.monotonic() + self.latency, data, answers))
                elif data:
                    if answers:
                        state["answered"] = True  # before the client can see the answer
                    sink.sendall(data)
                if not data:
                    break
        except OSError:
            line.put((time.monotonic(), b"", False))
        finally:
            if not self.latency:
                _close(source, sink)

    def _deliver(
        self,
        line: queue.SimpleQueue[tuple[float, bytes, bool]],
        source: socket.socket,
        sink: socket.socket,
        state: dict[str, bool],
    ) -> None:
        try:
            while True:
                due, data, answers = line.get()
                if not data:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if answers:
                    state["answered"] = True
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source, sink)


def _database_url(port: int, user: str, database: str) -> str:
    return f"postgresql+psycopg://{user}@127.0.0.1:{port}/{database}?sslmode=disable&gssencmode=disable"


def _close(*ends: socket.socket) -> None:
    for end in ends:
        with suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


class ProxyProcess:
    """A RoundTripProxy in a process of its own, with the same `database_url` and `counting`.

    In the process under measurement, the proxy's forwarding threads compete with the app's
    threads for the GIL, a cost no deployment has; out of process, the app pays only the sockets.
    Turns are counted into shared memory: the proxy counts a client's send before forwarding it,
    so a count read after the client has its answer is complete.
    """

    def __init__(self, *, target_socket_dir: str, target_port: int = 5432, latency_ms: float = 0.0) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._turns = context.Value("q", 0, lock=False)
        parent, child = context.Pipe()
        self._pipe = parent
        self._process = context.Process(
            target=_serve, args=(child, self._turns, target_socket_dir, target_port, latency_ms), daemon=True
        )
        self.port = 0

    def start(self) -> ProxyProcess:
        self._process.start()
        self.port = int(self._pipe.recv())
        return self

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()

    def database_url(self, user: str, database: str) -> str:
        return _database_url(self.port, user, database)

    @contextmanager
    def counting(self) -> Iterator[Count]:
        count = Count()
        before = self._turns.value
        try:
            yield count
        finally:
            count.value = self._turns.value - before


def _serve(pipe: Any, turns: Any, target_socket_dir: str, target_port: int, latency_ms: float) -> None:
    class Counted(RoundTripProxy):
        def _turn(self) -> None:
            with self._lock:  # connections' threads count concurrently
                turns.value += 1

    proxy = Counted(target_socket_dir=target_socket_dir, target_port=target_port, latency_ms=latency_ms).start()
    pipe.send(proxy.port)
    pipe.recv()  # until told to stop
    proxy.stop()
