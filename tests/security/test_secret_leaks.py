"""Secrets never leak: awkward secrets through every channel, then a search for every form of each.

A real OpenBao server holds secrets chosen to be awkward (``%``, ``/``, ``+``,
quotes, a backslash, a newline, a tab, non-ASCII, a long one, a folder name
with a space, a PostgreSQL password kept URL-encoded). Two flows use them:

``leaks`` (fails on purpose): configs and globals holding them whole and
embedded; control conditions that turn them into plain strings and fail with
their value in the error (``int(creds__pct + '')``, ``float(str(...))``,
concatenation); modules that write them in every encoded form to the log,
span events, stats, stdout, stderr and their error message; a PostgreSQL
source with the secret password (a database that does not exist) and a
working source and sink; a SQLite source under a secret folder that does not
exist. Its run is then resumed (and fails again the same way).

``again`` (resumed for real): a global that embeds a secret
(``x:{{vault...}}:h``), a ``file_list`` over a folder whose name is a secret
next to a decoy folder, a SQLite sink under the secret folder, a module whose
globals hold a secret wrapped (a reference rebuilds it) and base64-encoded (no
reference can: its instance runs again on resume), and a gate that fails the
first run. After ``--resume`` the outputs must be the exact data: fingerprints
of the restored and re-run globals, one file read (not the decoy), each row
written once.

Every ``pype`` command runs as a subprocess with ``--debug`` (tracebacks
printed), plain progress and spans exported over OTLP/HTTP to a local
receiver. Then every file under the job folders (runs, checkpoints,
manifests, logs), every file name there, the stdout and stderr of every
command and every span export are searched for each secret in every form
the issue lists, computed here independently of the package: raw, ``repr``,
``ascii``, bytes ``repr``, JSON (both ``ensure_ascii``), JSON of ``repr``,
``quote`` / ``quote_plus`` / SQLAlchemy's password quoting (upper- and
lower-case hex), URL-decoded, base64 (standard and URL-safe, at the three
byte alignments a secret can have inside a larger blob), and the first 8
characters of each of these (any truncation to 8 or more starts with them).
Zero hits.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import pytest

from tests.modules.pg_server import PgServer, start_server
from tests.otlp_receiver import OtlpReceiver
from tests.secrets.conftest import Bao, openbao
from tests.security.secret_probes import fingerprint

pytestmark = pytest.mark.slow
__all__ = ["openbao"]  # the OpenBao session fixture of the secret tests

REPO = Path(__file__).resolve().parents[2]
PYPE = str(Path(sys.executable).parent / "pype")
VAULT_PATH = "leak/awkward"
REF = "vault.secret/leak/awkward"


@dataclass(frozen=True)
class Awkward:
    """The secrets written to OpenBao (random per test, so nothing can match by chance) and the PostgreSQL port."""

    values: dict[str, str]
    pg_password: str
    pg_port: int


def _secret_values() -> tuple[dict[str, str], str]:
    tok = secrets.token_hex(5)
    pg_password = f"Pg{tok}@:/%+ 'x\"y"
    values = {
        "pct": f"Pc{tok}%41/b+c=%2Fd e",
        "quote": f"Qt{tok}'\"`\\q",
        "nl": f"Nl{tok}\nline2\tend",
        "uni": f"Un{tok}-wörd-密码-🔑",
        "long": f"Lg{tok}" + secrets.token_urlsafe(120),
        "dir": f"Dr{tok} f%d",
        "pgpw": quote(pg_password, safe=""),  # kept ready for a URL, as a DSN needs it
    }
    return values, pg_password


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def awkward(openbao: Bao, pg_server: PgServer) -> Awkward:
    import hvac
    import sqlalchemy

    values, pg_password = _secret_values()
    client = hvac.Client(url=openbao.addr, token=openbao.root_token)
    client.secrets.kv.v2.create_or_update_secret(path=VAULT_PATH, mount_point="secret", secret=values)
    client.adapter.close()
    engine = sqlalchemy.create_engine(pg_server.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        literal = "'" + pg_password.replace("'", "''").replace("%", "%%") + "'"  # %% : the driver's placeholder
        conn.exec_driver_sql("DROP DATABASE IF EXISTS leakdb")
        conn.exec_driver_sql("DROP ROLE IF EXISTS leaker")
        conn.exec_driver_sql(f"CREATE ROLE leaker LOGIN PASSWORD {literal}")
        conn.exec_driver_sql("CREATE DATABASE leakdb OWNER leaker")
    engine.dispose()
    return Awkward(values=values, pg_password=pg_password, pg_port=pg_server.port)


LEAKS = """\
flow: {name: leaks}
settings: {fail_strategy: continue}
modules:
  - id: creds
    name: set_globals
    configs:
      required:
        values:
          pct: "{{REF#pct}}"
          quote: "{{REF#quote}}"
          nl: "{{REF#nl}}"
          uni: "{{REF#uni}}"
          long: "{{REF#long}}"
          dsn: "x:{{REF#quote}}:h"
  - {id: c_int, name: set_globals, configs: {required: {values: {ok: 1}}}}
  - {id: c_float, name: set_globals, configs: {required: {values: {ok: 1}}}}
  - {id: c_concat, name: set_globals, configs: {required: {values: {ok: 1}}}}
  - {id: c_dsn, name: set_globals, configs: {required: {values: {ok: 1}}}}
  - {id: c_true, name: set_globals, configs: {required: {values: {ok: 1}}}}
  - id: chatty
    name: tests.security.secret_probes.Leaky
    configs: {required: {value: "{{creds__pct}}"}, optional: {fail: false}}
  - id: shout_long
    name: tests.security.secret_probes.Leaky
    configs: {required: {value: "{{REF#long}}"}}
  - id: shout_nl
    name: tests.security.secret_probes.Leaky
    configs: {required: {value: "{{creds__nl}}"}}
  - id: shout_uni
    name: tests.security.secret_probes.Leaky
    configs: {required: {value: "{{creds__uni}}"}}
  - id: shout_dsn
    name: tests.security.secret_probes.Leaky
    configs: {required: {value: "{{creds__dsn}}"}}
  - id: pg_bad
    name: sql_source
    configs:
      required: {url: "postgresql+psycopg://leaker:{{REF#pgpw}}@127.0.0.1:PGPORT/no_such_db"}
      optional: {query: "select 1 as one"}
  - id: pg_read
    name: sql_source
    configs:
      required: {url: "postgresql+psycopg://leaker:{{REF#pgpw}}@127.0.0.1:PGPORT/leakdb"}
      optional: {query: "select 1 as one"}
  - id: pg_write
    name: sql_sink
    configs: {required: {url: "postgresql+psycopg://leaker:{{REF#pgpw}}@127.0.0.1:PGPORT/leakdb", table: ones}}
  - id: lite_bad
    name: sql_source
    configs: {required: {url: "sqlite:///db/{{REF#dir}}/missing.sqlite"}, optional: {table: t}}
connections:
  data: ["pg_read.data - pg_write.input"]
  control:
    - "creds (1|int(creds__pct + '') > 0) c_int"
    - "creds (2|float(str(creds__nl)) > 0) c_float"
    - "creds (3|int(creds__long + creds__uni) > 0) c_concat"
    - "creds (4|int(str(creds__dsn)) > 0) c_dsn"
    - "creds (5|len(str(creds__dsn) + creds__quote) > 0) c_true"
    - "creds (6|) chatty"
    - "creds (7|) shout_long"
    - "creds (8|) shout_nl"
    - "creds (9|) shout_uni"
    - "creds (10|) shout_dsn"
    - "creds (11|) pg_bad"
    - "creds (12|) pg_read"
    - "creds (13|) lite_bad"
"""

AGAIN = """\
flow: {name: again}
modules:
  - id: creds
    name: set_globals
    configs: {required: {values: {embedded: "x:{{REF#quote}}:h", pct: "{{REF#pct}}"}}}
  - id: files
    name: file_list
    configs: {required: {directory: "data/{{REF#dir}}"}, optional: {pattern: "*.csv"}}
  - id: load
    name: csv_source
    configs: {required: {file_path: "{{iter.item}}"}}
  - id: store
    name: sql_sink
    configs: {required: {url: "sqlite:///db/{{REF#dir}}/rows.sqlite", table: rows}}
  - id: derive
    name: tests.security.secret_probes.Leaky
    configs: {required: {value: "{{creds__pct}}"}, optional: {fail: false}}
  - id: gate
    name: fail_mod
    configs: {optional: {unless_file_exists: flag, message: "gate closed"}}
  - id: proof
    name: tests.security.secret_probes.Proof
    configs:
      required:
        out: out/proof.txt
        values: {embedded: "{{creds__embedded}}", wrapped: "{{derive__wrapped}}", b64: "{{derive__b64}}"}
connections:
  data: ["load.data - store.input"]
  control:
    - "creds (1|) files"
    - {from: files, to: load, type: iterate}
    - "files (2|) derive"
    - "derive (1|) gate"
    - "gate (1|) proof"
"""


def forms_of(secret: str) -> dict[str, str]:
    """Every form the issue lists, computed here (see the module docstring)."""
    data = secret.encode("utf-8")
    forms = {
        "raw": secret,
        "repr": repr(secret)[1:-1],
        "ascii": ascii(secret)[1:-1],
        "bytes repr": repr(data)[2:-1],
        "json": json.dumps(secret)[1:-1],
        "json unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json of repr": json.dumps(repr(secret))[1:-1],
        "quote": quote(secret, safe=""),
        "quote /": quote(secret),
        "quote lower hex": "".join(
            part if i == 0 else part[:2].lower() + part[2:] for i, part in enumerate(quote(secret, safe="").split("%"))
        ),
        "quote_plus": quote_plus(secret),
        "sqlalchemy password": quote(secret, safe=" +"),
    }
    if "%" in secret:
        forms["url-decoded"] = unquote(secret)
    for offset in range(3):
        first, end = -(-8 * offset // 6), (8 * offset + 8 * len(data)) // 6
        padded = b"\0" * offset + data
        forms[f"base64 at offset {offset}"] = base64.b64encode(padded).decode()[first:end]
        forms[f"urlsafe base64 at offset {offset}"] = base64.urlsafe_b64encode(padded).decode()[first:end]
    forms.update({f"{name}, first 8": form[:8] for name, form in list(forms.items())})
    return forms


def _pype(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PYPE, *args], cwd=project, env=env, capture_output=True, timeout=240, check=False)


def _manifest(project: Path, job: str, run_id: str) -> dict[str, object]:
    document: dict[str, object] = json.loads((project / "jobs" / job / "runs" / run_id / "manifest.json").read_text())
    return document


def test_no_secret_leaks_in_any_form(tmp_path: Path, openbao: Bao, awkward: Awkward) -> None:
    project = tmp_path / "project"
    values = awkward.values
    secret_dir = project / "data" / values["dir"]
    secret_dir.mkdir(parents=True)
    (secret_dir / "a.csv").write_text("id,name\n1,ana\n2,ben\n", encoding="utf-8")
    (project / "data" / "decoy").mkdir()
    (project / "data" / "decoy" / "a.csv").write_text("id,name\n9,decoy\n", encoding="utf-8")
    for name, text in (("leaks", LEAKS), ("again", AGAIN)):
        flow = text.replace("REF", REF).replace("PGPORT", str(awkward.pg_port))
        (project / f"{name}.yaml").write_text(flow, encoding="utf-8")

    commands: dict[str, subprocess.CompletedProcess[bytes]] = {}
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "OTEL_", "PYTEST_"))}
        env.update(
            openbao.env(),
            PYTHONPATH=str(REPO),
            PYPELINE_REGISTRY=str(project / "modules" / "ModRegistry.json"),
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_SERVICE_NAME="secret-leaks",
        )
        run = ("--progress", "plain", "--log-level", "debug")
        for name in ("leaks", "again"):
            commands[f"build {name}"] = _pype(project, env, "build", f"{name}.yaml")
            assert commands[f"build {name}"].returncode == 0, commands[f"build {name}"].stderr.decode()
        commands["leaks"] = _pype(project, env, "--debug", "run", "jobs/leaks", "--run-id", "l1", *run)
        commands["leaks resumed"] = _pype(
            project, env, "--debug", "run", "jobs/leaks", "--resume", "l1", "--run-id", "l2", *run
        )
        commands["again"] = _pype(project, env, "--debug", "run", "jobs/again", "--run-id", "a1", *run)
        kept = project / "jobs/again/runs/a1/checkpoint"  # removed once the resumed run succeeds: read it now
        checkpoint = {str(p.relative_to(project)): p.read_bytes() for p in sorted(kept.rglob("*")) if p.is_file()}
        (project / "flag").write_text("open", encoding="utf-8")
        commands["again resumed"] = _pype(
            project, env, "--debug", "run", "jobs/again", "--resume", "a1", "--run-id", "a2", *run
        )

    # -- the flows ran as designed (so the search below means something) ---------------------------
    for name, expected in (("leaks", 1), ("leaks resumed", 1), ("again", 1), ("again resumed", 0)):
        assert commands[name].returncode == expected, (name, commands[name].stderr.decode()[-3000:])
    leaks = _manifest(project, "leaks", "l1")
    statuses = {node: m["status"] for node, m in leaks["modules"].items()}  # type: ignore[attr-defined]
    assert statuses == {
        "creds": "success", "c_true": "success", "chatty": "success", "pg_read": "success", "pg_write": "success",
        "shout_long": "failed", "shout_nl": "failed", "shout_uni": "failed", "shout_dsn": "failed",
        "pg_bad": "failed", "lite_bad": "failed",
    }
    errors = "\n".join(leaks["errors"])  # type: ignore[arg-type]
    assert errors.count("condition cannot be evaluated") == 4, errors
    assert "no_such_db" in errors and "SQLite file" in errors and "cannot connect: ***" in errors
    assert _manifest(project, "leaks", "l2")["resumed_from"] == "l1"
    assert _pg_rows(awkward) == 1  # the secret password worked; the resumed run restored that instance

    first = _manifest(project, "again", "a1")
    assert first["status"] == "failed" and first["modules"]["gate"]["status"] == "failed"  # type: ignore[index]
    assert len(first["modules"]["load#0"]["files_read"]) == 1  # type: ignore[index]
    log = (project / "jobs/again/runs/a1/log.jsonl").read_text(encoding="utf-8")
    assert '"event":"checkpoint_instance_skipped"' in log and "derive" in log
    journal = checkpoint["jobs/again/runs/a1/checkpoint/journal.log"]
    records = [json.loads(line.split(b" ", 2)[2]) for line in journal.splitlines()]
    stored = json.dumps([[r["globals"], r["lists"]] for r in records])  # the values a resumed run uses
    assert '"$vault_text": ["x:", {"$vault": "secret/leak/awkward#quote"}, ":h"]' in stored  # the global's recipe
    assert '"$vault_text": ["data/", {"$vault": "secret/leak/awkward#dir"}, "/a.csv"]' in stored  # the file list's
    assert "***" not in stored  # no placeholder in place of a value
    assert sorted(r["subflow"] for r in records) == ["creds", "files", "load"]  # derive: not recorded, runs again
    resumed = _manifest(project, "again", "a2")
    statuses = {node: m["status"] for node, m in resumed["modules"].items()}  # type: ignore[attr-defined]
    assert statuses == {
        "creds": "restored", "files": "restored", "load#0": "restored", "store#0": "restored",
        "derive": "success", "gate": "success", "proof": "success",
    }
    # the exact data after --resume: the restored global, and the globals of the re-run instance
    proof = dict(line.split(" ", 1) for line in (project / "out/proof.txt").read_text().splitlines())
    assert proof == {
        "embedded": fingerprint(f"x:{values['quote']}:h"),
        "wrapped": fingerprint(f"<{values['pct']}>"),
        "b64": fingerprint(base64.b64encode(values["pct"].encode()).decode()),
    }
    with sqlite3.connect(project / "db" / values["dir"] / "rows.sqlite") as db:
        rows = sorted(db.execute("select id, name from rows").fetchall())
    assert rows == [(1, "ana"), (2, "ben")]  # one file (not the decoy), written once
    with (secret_dir / "a.csv").open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)

    # -- zero hits --------------------------------------------------------------------------------
    places: dict[str, bytes] = {}
    for path in sorted((project / "jobs").rglob("*")):
        where = str(path.relative_to(project))
        places[f"name of {where}"] = where.encode("utf-8")
        if path.is_file():
            places[where] = path.read_bytes()
    for name, done in commands.items():
        places[f"{name}: stdout"] = done.stdout
        places[f"{name}: stderr"] = done.stderr
    assert receiver.bodies, "no spans were exported"
    for index, body in enumerate(receiver.bodies):
        places[f"OTLP export #{index}"] = body
    places.update(checkpoint)
    assert any(p.startswith("jobs/leaks/runs/l2/checkpoint/") for p in places), "no checkpoint was kept"
    secret_values = {**values, "pg password": awkward.pg_password}
    hits = [
        (where, secret, form)
        for secret, value in secret_values.items()
        for form, text in forms_of(value).items()
        for where, data in places.items()
        if text.encode("utf-8") in data
    ]
    assert hits == []


def _pg_rows(awkward: Awkward) -> int:
    import sqlalchemy

    url = f"postgresql+psycopg://leaker:{awkward.values['pgpw']}@127.0.0.1:{awkward.pg_port}/leakdb"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("select count(*) from ones").scalar_one())
    finally:
        engine.dispose()
