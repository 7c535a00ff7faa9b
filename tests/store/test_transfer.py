"""bot.store.transfer: export every table as JSON and import it elsewhere, file ↔ PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.state import Store
from bot.store.transfer import (
    EXPORT_MARK,
    ImportRefused,
    export_bytes,
    export_state,
    import_state,
    parse_export,
    summary,
)
from tests.drills.killdrill import bot_env

ROOT = Path(__file__).resolve().parents[2]


def fill(store: Store) -> None:
    store.table("cards").put("c1", {"item": 1, "text": "سلام", "tags": ["a"]})
    store.table("inbox").put_many({f"i{n}": {"n": n, "status": "open"} for n in range(30)})
    store.table("mass_jobs").put("j1", {"status": "running", "numbers": ["+989120000000"]})
    store.table("oauth").put("tokens", {"access_token": "AT-secret", "refresh_token": "RT-secret"})
    store.audit(1, "approve", "post:1")


def tables_of(store: Store) -> dict[str, dict[str, dict[str, object]]]:
    return {name: dict(store.table(name).items()) for name in store.storage.data if name != "meta"}


@pytest.mark.parametrize("direction", ["file to postgres", "postgres to file"])
def test_state_moves_between_the_file_store_and_postgres(tmp_path: Path, database_url: str, direction: str) -> None:
    def file_store() -> Store:
        return Store.open(tmp_path / "state.json")

    def pg_store() -> Store:
        return Store.postgres(database_url, wait=10)

    source_of, target_of = (file_store, pg_store) if direction == "file to postgres" else (pg_store, file_store)
    source = source_of()
    fill(source)
    expected = tables_of(source)
    raw = export_bytes(export_state(source))
    source.close()
    export = parse_export(raw)
    assert export["format"] == EXPORT_MARK and export["version"] == 1 and export["left_out"] == []
    assert summary(export)[1] == 1 + 30 + 1 + 1 + 1 + 1  # meta's format mark included
    target = target_of()
    assert import_state(target, export) == summary(export)[1]
    assert tables_of(target) == expected
    target.table("cards").put("c2", {"item": 2})  # keeps working after the import
    target.close()
    again = target_of()  # and it is durable
    assert tables_of(again) == {**expected, "cards": {**expected["cards"], "c2": {"item": 2}}}
    again.close()


def test_an_export_for_people_leaves_the_oauth_tokens_out(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.json")
    fill(store)
    export = export_state(store, secrets=False)
    raw = export_bytes(export)
    assert b"AT-secret" not in raw and b"RT-secret" not in raw
    assert export["left_out"] == ["oauth"] and "oauth" not in export["tables"]
    assert export["source"] == str(tmp_path / "state.json")
    store.close()


def test_imports_refuse_bad_files_and_a_store_that_holds_state(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.json")
    for raw, reason in [
        (b"{nope", "not JSON"),
        (b'{"format": "something else"}', "not a state export"),
        (json.dumps({"format": EXPORT_MARK, "version": 99, "tables": {}}).encode(), "version 99"),
        (json.dumps({"format": EXPORT_MARK, "version": 1, "tables": {"cards": []}}).encode(), "malformed"),
        (json.dumps({"format": EXPORT_MARK, "version": 1, "tables": {"_snapshot": {}}}).encode(), "malformed"),
    ]:
        with pytest.raises(ImportRefused, match=reason):
            parse_export(raw)
    fill(store)
    export = export_state(store)
    store.table("cards").put("c9", {"later": True})
    with pytest.raises(ImportRefused, match="already holds state"):
        import_state(store, export)
    assert store.table("cards").get("c9") == {"later": True}  # nothing changed
    import_state(store, export, replace=True)
    assert "c9" not in store.table("cards") and store.table("cards").get("c1") is not None
    store.close()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot state …`` with only the state settings in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "state", *args],
        cwd=ROOT,
        env={**bot_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_state_command_moves_the_state_both_ways(tmp_path: Path, database_url: str) -> None:
    file_env = {"STATE_PATH": str(tmp_path / "state.json")}
    url = database_url.replace("postgres@", "postgres:pw-in-url@")
    pg_env = {"DATABASE_URL": url, "STATE_PATH": str(tmp_path / "ignored.json")}
    store = Store.open(tmp_path / "state.json")
    fill(store)
    expected = tables_of(store)
    store.close()

    out = cli(file_env, "export", str(tmp_path / "from-file.json"))
    assert out.returncode == 0, out.stderr
    assert "exported 35 documents" in out.stderr and str(tmp_path / "state.json") in out.stderr
    out = cli(pg_env, "import", str(tmp_path / "from-file.json"))
    assert out.returncode == 0, out.stderr
    assert "into PostgreSQL postgres@127.0.0.1" in out.stderr and "pw-in-url" not in out.stderr
    again = Store.postgres(database_url, wait=10)
    assert tables_of(again) == expected
    again.table("cards").put("from-pg", {"n": 1})
    again.close()

    out = cli(pg_env, "import", str(tmp_path / "from-file.json"))  # the database holds state now
    assert out.returncode == 2 and "already holds state" in out.stderr and "--replace" in out.stderr
    out = cli(pg_env, "export", str(tmp_path / "from-pg.json"), "--no-secrets")
    assert out.returncode == 0 and "left out: oauth" in out.stderr, out.stderr
    (tmp_path / "state.json").unlink()
    (tmp_path / "state.json.journal").unlink()
    out = cli(file_env, "import", str(tmp_path / "from-pg.json"))
    assert out.returncode == 0, out.stderr
    back = Store.open(tmp_path / "state.json")
    assert tables_of(back) == {
        **{k: v for k, v in expected.items() if k != "oauth"},
        "cards": {**expected["cards"], "from-pg": {"n": 1}},
    }
    back.close()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "resont-miogram-bot/state-export", "version": 7, "tables": {}}')
    out = cli(file_env, "import", str(bad), "--replace")
    assert out.returncode == 2 and "Import refused" in out.stderr and "version 7" in out.stderr
    out = cli({"DATABASE_URL": "mysql://u:p@h/db"}, "export", "-")
    assert out.returncode == 2 and "DATABASE_URL must be a postgres://" in out.stderr and "u:p" not in out.stderr
