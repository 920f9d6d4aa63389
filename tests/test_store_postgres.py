"""The store on a real PostgreSQL server (tests/pg_server.py): URL forms, the driver named when it is missing, the
password masked wherever a URL is shown, and libpq's own ways of finding credentials and TLS settings (PGPASSWORD,
~/.pgpass, sslmode) honoured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pg_server import PASSWORD, ROLE, PgCluster

from trainers.spec.errors import StoreError
from trainers.spec.url_display import mask_urls, safe_url, with_password, without_password
from trainers.store import TrialStore, resolve_store_url

ROOT = Path(__file__).resolve().parents[1]


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1]


# ---- masking, without a server ------------------------------------------------------------------------------------


def test_safe_url_masks_the_password_and_keeps_the_rest() -> None:
    assert safe_url("postgresql+psycopg://ann:pw@db:5432/lab?sslmode=require") == (
        "postgresql+psycopg://ann:***@db:5432/lab?sslmode=require"
    )
    assert safe_url("postgresql://ann@db/lab?password=pw&sslmode=verify-full") == (
        "postgresql://ann@db/lab?password=***&sslmode=verify-full"
    )
    assert safe_url("postgresql://db/lab") == "postgresql://db/lab"
    assert safe_url("/home/ann/runs.db") == "/home/ann/runs.db"  # a file path is shown as it is
    for exact in ("sqlite:////home/ann/runs.db", "sqlite:///rel.db", "sqlite://", "postgresql://db/a%3Fb?x=%2F"):
        assert safe_url(exact) == exact == with_password(exact, "")  # nothing to mask: not one character changes
    param = "postgresql://ann@db/lab?password=pw&sslmode=require"
    assert with_password(safe_url(param), param) == "postgresql://ann@db/lab?sslmode=require&password=pw"
    assert without_password(param) == "postgresql://ann@db/lab?sslmode=require"
    assert (
        mask_urls("cannot open postgresql://ann:pw@db/lab: refused")
        == "cannot open postgresql://ann:***@db/lab: refused"
    )


_secret = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="-_.~"), min_size=4, max_size=20)


@given(password=_secret, user=st.sampled_from(["ann", "lab_user"]))
def test_no_password_survives_safe_url_and_with_password_gives_it_back(password: str, user: str) -> None:
    url = f"postgresql+psycopg://{user}:{password}@db.example:5432/lab?options=-csearch_path%3Dx"
    shown = safe_url(url)
    assert shown == url.replace(f":{password}@", ":***@")  # the password, and only it, is masked
    assert with_password(shown, url) == url  # same server, same user: the password comes back
    elsewhere = url.replace("db.example", "other.example")
    assert with_password(shown, elsewhere) == url.replace(f":{password}@", "@")  # else none: PGPASSWORD then


def test_a_plain_postgresql_url_means_psycopg_3() -> None:
    assert resolve_store_url("postgresql://ann@db/lab") == "postgresql+psycopg://ann@db/lab"
    assert resolve_store_url("postgres://ann@db/lab") == "postgresql+psycopg://ann@db/lab"
    assert resolve_store_url("postgresql+psycopg2://ann@db/lab") == "postgresql+psycopg2://ann@db/lab"


def test_a_missing_driver_is_named_with_the_extra_that_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on an install without the postgres extra
    with pytest.raises(StoreError) as info:
        TrialStore("postgresql://ann:hunter2@127.0.0.1:9/lab")
    message = str(info.value)
    assert "pip install 'tunelab[postgres]'" in message and "psycopg" in message
    assert "hunter2" not in message and "ann:***@127.0.0.1:9/lab" in message


@pytest.mark.slow
def test_the_cli_says_how_to_install_the_driver_in_one_line() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from trainers.cli.main import main\n"
        "sys.exit(main(['history', '--store', 'postgresql://ann:hunter2@127.0.0.1:9/lab']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "pip install 'tunelab[postgres]'" in run.stderr and "Traceback" not in run.stderr
    assert "hunter2" not in run.stderr + run.stdout


# ---- on the server ------------------------------------------------------------------------------------------------


def test_the_store_opens_from_a_plain_postgresql_url_and_never_shows_its_password(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    plain = pg_cluster.url(_database(pg_url), driver="postgresql")
    with TrialStore(plain) as store:
        tid = store.create_trial("train", {"optim": {"lr": 0.1}}, name="on a server")
        assert store.url.startswith("postgresql+psycopg://")
        assert PASSWORD not in repr(store) and ":***@" in repr(store)
        assert PASSWORD not in store.get_trial(tid).config_json + store.get_trial(tid).extra_json
    with pytest.raises(StoreError) as info:
        store.count_trials()  # closed
    assert PASSWORD not in str(info.value) and ":***@" in str(info.value)
    with TrialStore(pg_url) as again:
        assert again.get_trial(tid).name == "on a server"


def test_a_wrong_password_is_refused_without_showing_it(pg_cluster: PgCluster, pg_url: str) -> None:
    wrong = pg_url.replace(f":{PASSWORD}@", ":not-the-password@")
    with pytest.raises(StoreError, match="password authentication failed") as info:
        TrialStore(wrong)
    assert "not-the-password" not in str(info.value)


def test_pgpassword_supplies_the_password_a_url_leaves_out(
    pg_cluster: PgCluster, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = pg_cluster.url(_database(pg_url), password=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", os.devnull)
    with pytest.raises(StoreError, match="password"):
        TrialStore(bare)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with TrialStore(bare) as store:
        store.create_trial("train", {})
        assert store.count_trials() == 1


def test_a_pgpass_file_supplies_the_password(
    pg_cluster: PgCluster, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:*:{ROLE}:{PASSWORD}\n")
    pgpass.chmod(0o600)  # libpq ignores a file others can read
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with TrialStore(pg_cluster.url(_database(pg_url), password=False)) as store:
        assert store.count_trials() == 0


def test_sslmode_in_the_url_is_honoured(pg_cluster: PgCluster, pg_url: str) -> None:
    with TrialStore(pg_url + "?sslmode=disable") as store:
        assert store.count_trials() == 0
    with pytest.raises(StoreError, match="SSL") as info:  # this server has no TLS: libpq refuses as told
        TrialStore(pg_url + "?sslmode=require")
    assert PASSWORD not in str(info.value)
