"""A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` from the distribution's package, a cluster
in a temporary folder, a password-protected superuser (so masked URLs really hide something) on 127.0.0.1 and a
unix socket, and one fresh database per test.

initdb refuses to run as root, so under root the cluster belongs to an unprivileged account (`nobody`) and every
server command runs as that account."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROLE = "tunelab_test"
PASSWORD = "s3cret-pw"  # a throwaway cluster's password, there to be masked in every output
UNPRIVILEGED = "nobody"
# Durability is worthless for a throwaway cluster; without fsync a CREATE DATABASE takes milliseconds.
SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) on this machine."""


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += [Path(p) for p in versions]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresMissing(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found by `pg_config --bindir` or in "
        "/usr/lib/postgresql/*/bin: install the distribution's `postgresql` package"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One PostgreSQL cluster: `start()`, `stop()`, `new_database()`, `url(database)`.

    A test may stop the server mid-run and start it again: the port, folder and databases stay the same."""

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self._account = _run_as_account()
        self.root = Path(tempfile.mkdtemp(prefix="tunelab-pg-", dir=_temp_parent(self._account is not None)))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._names = itertools.count(1)
        self.socket_dir.mkdir()
        self._owned(self.root)
        self._owned(self.socket_dir)
        self._initdb()

    # -- server lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} " + " ".join(
            f"-c {s}" for s in SERVER_SETTINGS
        )
        self._server("start", "-w", "-t", "60", "-l", str(self.log), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: "fast" ends open sessions and shuts down cleanly, "immediate" is a crash."""
        self._server("stop", "-w", "-t", "60", "-m", mode)

    @property
    def running(self) -> bool:
        return self._server("status", check=False).returncode == 0

    def destroy(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases and URLs ---------------------------------------------------------------------

    def url(self, database: str = "postgres", *, password: bool = True, driver: str = "postgresql+psycopg") -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"{driver}://{ROLE}{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database (test_<n>); returns its URL with the password in it."""
        name = f"test_{next(self._names)}"
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement outside a transaction (CREATE DATABASE needs that); returns its rows, if any."""
        import psycopg

        with psycopg.connect(self.url(database, driver="postgresql"), autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]  # test-written SQL, not user input
            return list(cur.fetchall()) if cur.description else []

    # -- plumbing -------------------------------------------------------------------------------

    def _initdb(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        self._owned(pwfile)
        self._as_account(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", ROLE, f"--pwfile={pwfile}"]
            + ["--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
        )
        pwfile.unlink()

    def _server(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._as_account([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args], check=check)

    def _as_account(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._account is not None:
            kwargs = {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": []}
        # HOME/cwd where the account may read: postgres refuses a current folder it cannot see.
        env = {**os.environ, "HOME": str(self.root), "LC_ALL": "C"}
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root, env=env, check=False, **kwargs)
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")
        return done

    def _owned(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.pw_uid, self._account.pw_gid)


def _temp_parent(for_other_account: bool) -> str | None:
    """Where the cluster's folder goes: the usual temporary folder, unless another account could not reach into it
    (a TMPDIR inside root's home), then /tmp."""
    parent = Path(tempfile.gettempdir()).resolve()
    if not for_other_account or all(os.stat(p).st_mode & 0o001 for p in (parent, *parent.parents)):
        return None
    return "/tmp"


def _run_as_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when this process is root; None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED)
    except KeyError as exc:
        raise PostgresMissing(f"running as root, and there is no `{UNPRIVILEGED}` account to run PostgreSQL") from exc
