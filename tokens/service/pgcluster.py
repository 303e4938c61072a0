"""A throw-away PostgreSQL cluster for tests and benchmarks: initdb into a temp dir, start it on
a free loopback port with its unix socket in that dir, hand out a ``postgresql://`` URL, stop it
and delete everything at the end.

PostgreSQL refuses to run as root, so when the effective user is root the server programs run as
an unprivileged account (the ``postgres`` user the Debian package creates, or ``nobody``) via
``runuser``/``setpriv`` and the temp dir is handed to that account.

    with TempPostgres() as pg:
        url = pg.create_database("tokensim")

Nothing here is used by the verifier at run time; it only needs the server binaries
(``initdb``, ``pg_ctl``), found on PATH or under /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from ..errors import TokensimError

__all__ = ["PostgresUnavailable", "TempPostgres", "find_bindir"]


class PostgresUnavailable(TokensimError):
    """The PostgreSQL server binaries (or an unprivileged user to run them as) are missing."""


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``; raises PostgresUnavailable."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return Path(d)
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
                              "/usr/lib/postgresql/*/bin; install the 'postgresql' package")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as_prefix() -> tuple[list[str], pwd.struct_passwd | None]:
    """The command prefix that drops root, and the account it drops to."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        if shutil.which("runuser"):
            return ["runuser", "-u", name, "--"], user
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"], user
    raise PostgresUnavailable("running as root and no unprivileged user (postgres/nobody) with "
                              "runuser or setpriv to start PostgreSQL as")


class TempPostgres:
    """One throw-away cluster.  ``start()`` is idempotent; ``stop()`` removes the data dir."""

    def __init__(self, *, shared_buffers: str = "32MB", max_connections: int = 200,
                 fsync: bool = True, timeout: float = 60.0, settings: dict[str, str] | None = None) -> None:
        self.settings = dict(settings or {})
        self.shared_buffers = shared_buffers
        self.max_connections = max_connections
        self.fsync = fsync
        self.timeout = timeout
        self.bindir = find_bindir()
        self.prefix, self.user = _run_as_prefix()
        self.root: Path | None = None
        self.port = 0
        self.superuser = "postgres"
        self._started = False

    # -- paths -----------------------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        assert self.root is not None
        return self.root / "sock"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{dbname}"

    # -- life cycle --------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [*self.prefix, *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or self.timeout,
                              env=env, cwd=str(self.root), check=False)

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = ""
            if self.root is not None and self.logfile.exists():
                log = self.logfile.read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"{what} failed (exit {proc.returncode}): "
                                      f"{(proc.stderr or proc.stdout).strip()[-1500:]} {log}".strip())

    def start(self) -> str:
        """Create and start the cluster; returns the URL of the ``postgres`` database."""
        if self._started:
            return self.url()
        self.root = Path(tempfile.mkdtemp(prefix="tokensim-pg-"))
        try:
            self.sockdir.mkdir()
            if self.user is not None:
                os.chmod(self.root, 0o700)
                for p in (self.root, self.sockdir):
                    os.chown(p, self.user.pw_uid, self.user.pw_gid)
            self._check(self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U",
                                  self.superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"),
                        "initdb")
            self._start_server()
        except BaseException:
            self._remove()
            raise
        self._started = True
        return self.url()

    def _start_server(self) -> None:
        last: PostgresUnavailable | None = None
        for _ in range(3):  # the free port can be taken between probing and binding: retry
            self.port = _free_port()
            try:
                self._check(self._pg_ctl_start(), "pg_ctl start")
                return
            except PostgresUnavailable as e:
                last = e
                if "already in use" not in str(e) and "could not bind" not in str(e):
                    break
        assert last is not None
        raise last

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} "
                f"-c shared_buffers={self.shared_buffers} -c max_connections={self.max_connections} "
                f"-c fsync={'on' if self.fsync else 'off'} -c logging_collector=off")
        for name, value in self.settings.items():
            if not re.fullmatch(r"[a-z_]+", name) or not re.fullmatch(r"[A-Za-z0-9_.]+", value):
                raise ValueError(f"unsafe server setting {name}={value!r}")
            opts += f" -c {name}={value}"
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
                         "-w", "-t", str(int(self.timeout)), "-o", opts, "start", timeout=self.timeout + 10)

    def stop(self) -> None:
        """Stop the server and delete its files (immediate shutdown: nothing is kept anyway)."""
        if self.root is None:
            return
        try:
            if self._started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w",
                          "-t", "30", "stop", timeout=45)
        finally:
            self._started = False
            self._remove()

    def restart(self) -> None:
        """Stop (immediate: like a crash) and start again on the same port and data dir."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w",
                  "-t", "30", "stop", timeout=45)
        self._check(self._pg_ctl_start(), "pg_ctl restart")

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- databases ---------------------------------------------------------------------------
    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name`` (a plain identifier); returns its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> TempPostgres:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
