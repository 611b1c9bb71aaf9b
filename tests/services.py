"""Real servers for the tests, started on loopback and stopped by the fixtures that start them.

PostgreSQL: Debian's server binaries (``./run test`` installs the ``postgresql`` package); a
throw-away cluster in a temporary folder, trusting local connections, ``fsync=off`` because
its data is discarded. As root, the cluster runs as the ``postgres`` user (initdb refuses
root). ``SOHOA_TEST_DATABASE_URL`` (a PostgreSQL URL with the right to create databases)
uses an existing server instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: `./run test` installs "
                           f"Debian's postgresql package (or set SOHOA_TEST_DATABASE_URL)")
    return found[-1]


class PostgresServer:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="sohoa-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> PostgresServer:
        data = self.tmp / "data"
        subprocess.run([*self._as, _pg_bin("initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True)
        with open(self.tmp / "server.log", "wb") as log:  # the server keeps its own copy
            self.proc = subprocess.Popen(
                [*self._as, _pg_bin("postgres"), "-D", str(data), "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", str(self.tmp), "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=100"],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            try:
                with contextlib.closing(self.connect("postgres")):
                    return self
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.tmp / "server.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.2)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres "
                               f"dbname={database}", autocommit=True, connect_timeout=5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # "smart" shutdown would wait for clients; SIGTERM is fast
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Databases:
    """Fresh, empty databases on one server, dropped at the end."""

    def __init__(self, admin_url: str | None = None, server: PostgresServer | None = None):
        self.server = server
        self.admin_url = admin_url
        self.made: list[str] = []

    def _admin(self):
        import psycopg
        from sqlalchemy.engine import make_url

        if self.server is not None:
            return self.server.connect("postgres")
        u = make_url(self.admin_url)
        return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username,
                               password=u.password, dbname=u.database or "postgres",
                               autocommit=True)

    def new(self) -> str:
        name = f"sohoa_test_{uuid.uuid4().hex[:12]}"
        with contextlib.closing(self._admin()) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        if self.server is not None:
            return self.server.url(name)
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with contextlib.closing(self._admin()) as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres() -> Iterator[Databases]:
    admin = os.environ.get("SOHOA_TEST_DATABASE_URL")
    if admin:
        dbs = Databases(admin_url=admin)
        try:
            yield dbs
        finally:
            dbs.drop_all()
        return
    server = PostgresServer().start()
    try:
        yield Databases(server=server)
    finally:
        server.stop()


@contextlib.contextmanager
def moto_s3() -> Iterator[dict[str, str]]:
    """moto's S3 API server in this process on 127.0.0.1 (the OS picks the port); yields the
    SOHOA_S3_* settings that reach it. Other processes (the CLI) reach it too."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {"SOHOA_S3_ENDPOINT": f"http://{host}:{port}", "SOHOA_S3_ACCESS_KEY": "sohoa-test",
               "SOHOA_S3_SECRET_KEY": "sohoa-test-secret"}
    finally:
        server.stop()


class RedisServer:
    """Debian's redis-server on 127.0.0.1 with an append-only file in a temporary folder, so
    that a restart keeps the queue (as a production broker is configured)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sohoa-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: `./run test` installs Debian's "
                               "redis-server package")
        self.proc = subprocess.Popen(
            [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self, *, keep_data: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not keep_data:
            shutil.rmtree(self.dir, ignore_errors=True)
