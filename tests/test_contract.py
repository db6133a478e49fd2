"""Contract: schemathesis against the real server on a copy of the sample district.

Anonymously and as every role, with generated values steered towards real ids, coordinates,
filters and tiles (tests/contract.py) so requests reach real rows, no request gets a server
error (5xx) and every answer is as documented (status, content type, headers, body schema).
Anonymously and as a leader, the schemathesis CLI with every check (`--checks all` but its 10 s
response-time limit) and nothing steered (as anyone would run it: schema-valid requests accepted,
schema-violating ones rejected, auth, stateful links, and the response checks) finds nothing;
schemathesis.toml lists the few rules a schema cannot state.

The server runs on `djmap_contract`, a template copy of the loaded sample database (so POSTs and
the users this test adds never touch `djmap_sample`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import pytest
import schemathesis
from contract import read_facts, steer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from geo.cluster import Cluster, free_port
from geo.users import add_user

ROOT = Path(__file__).resolve().parent.parent
DB = "djmap_contract"
PASSWORD = "contract-password-1"
KEY = "contract-test-key-" + "k" * 32
# Examples per operation. Twelve are enough: the steered values reach real rows three times in
# four, every example is sent as all six callers, and the leader's CLI run below adds its coverage
# phase (boundary values and every enum value of every parameter). 25 took 127 s of CI time.
MAX_EXAMPLES = 12
REQUEST_TIMEOUT = 90
# The fuzzing phase's count (the coverage and stateful phases run whole): issue 10 asks for 0
# failures at 25 or more, anonymously and as a leader.
ALL_CHECKS_EXAMPLES = 25
EVERY_CHECK = (  # schemathesis run --checks: every choice it offers but `all`
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ALL_CHECKS_SEED = 20261204


def _admin_url(cluster: Cluster) -> str:
    return cluster.url.rsplit("/", 1)[0] + "/postgres"


def _copy_sample(admin: str) -> None:
    """CREATE DATABASE … TEMPLATE djmap_sample; the template must have no sessions, so idle ones
    an earlier test left behind are closed first."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        for _ in range(20):
            try:
                conn.execute(f"CREATE DATABASE {DB} TEMPLATE djmap_sample STRATEGY FILE_COPY")
                return
            except psycopg.errors.ObjectInUse:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = 'djmap_sample' AND state = 'idle'"
                )
                time.sleep(0.5)
        raise RuntimeError("djmap_sample stays in use; cannot copy it")


@pytest.fixture(scope="module")
def contract_db(cluster: Cluster, sample_url: str) -> Iterator[str]:
    """A throwaway copy of the sample district with one user per role."""
    _copy_sample(_admin_url(cluster))
    url = cluster.url.rsplit("/", 1)[0] + "/" + DB
    with psycopg.connect(url) as conn:
        org = conn.execute("SELECT code FROM organisations WHERE parent_id IS NULL LIMIT 1")
        org_code = str(org.fetchone()[0])  # type: ignore[index]
        member = conn.execute("SELECT external_id FROM members ORDER BY id LIMIT 1")
        member_id = str(member.fetchone()[0])  # type: ignore[index]
    for role in ("admin", "planner", "leader", "steward", "member"):
        scope = None if role in ("admin", "member") else org_code
        add_user(url, f"st_{role}", PASSWORD, role, scope, member_id if role == "member" else None)
    yield url
    with psycopg.connect(_admin_url(cluster), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


@pytest.fixture(scope="module")
def server(contract_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`uvicorn api.app:create_app` on a free port (cheap_hashes' wrapper: fuzzed logins of
    unknown names and passwords set by admin calls hash in 1 ms, not 0.2 s); its log is kept for
    failure messages."""
    home = tmp_path_factory.mktemp("contract-home")
    log_path = home / "server.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJMAP_")}
    env |= {"DJMAP_DATABASE_URL": contract_db, "DJMAP_HOME": str(home), "DJMAP_SECRET_KEY": KEY}
    cmd = [sys.executable, "-m", "uvicorn", "cheap_hashes:create_app", "--factory"]
    cmd += ["--app-dir", str(ROOT / "tests")]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, proc, log_path)
        yield {"base": base, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


def _get(url: str, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


@pytest.fixture(scope="module")
def callers(server: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Request headers per caller: anonymous and one bearer token per role (logged in first,
    before any fuzzed login can trip the throttle)."""
    out: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ("admin", "planner", "leader", "steward", "member"):
        form = f"username=st_{role}&password={PASSWORD}".encode()
        req = urllib.request.Request(server["base"] + "/api/auth/token", data=form)
        with urllib.request.urlopen(req, timeout=30) as res:
            out[role] = {"Authorization": "Bearer " + json.load(res)["access_token"]}
    return out


@pytest.fixture(scope="module")
def contract_schema(
    server: dict[str, Any], contract_db: str, callers: dict[str, dict[str, str]]
) -> Any:
    """The server's OpenAPI document as a schemathesis schema, steered towards real rows."""
    base = server["base"]
    admin = callers["admin"]
    spec = _get(base + "/api/openapi.json")
    layers = [layer["id"] for layer in _get(base + "/api/layers", admin)["layers"]]
    collections = [c["id"] for c in _get(base + "/api/collections", admin)["collections"]]
    facts = read_facts(contract_db)
    schema = schemathesis.openapi.from_dict(spec)
    schema.config.update(base_url=base)
    steer(schema.hook, facts, layers, collections)
    return schema


def all_checks_command(base: str, token: str | None) -> list[str]:
    """The schemathesis CLI run of every check (as the README shows it).

    Anonymously, without the coverage phase: its boundary and missing-parameter cases test input
    checks that are the same for every caller, and the leader's run sends them all (as anonymous,
    half the operations would answer each of them 401)."""
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", base + "/api/openapi.json"]
    # one worker: CPython 3.11's ast.parse is not thread-safe (gh-106905, "AST constructor
    # recursion depth mismatch"), and hypothesis parses lambda sources in each worker thread
    # every check `--checks all` runs except its 10 s response-time limit, a timed assertion
    # (speed is measured by the benches; under load it fails for the load, not for a fault)
    cmd += ["--checks", ",".join(EVERY_CHECK), "--max-examples", str(ALL_CHECKS_EXAMPLES)]
    cmd += ["--workers", "1"]
    cmd += ["--seed", str(ALL_CHECKS_SEED), "--no-color"]
    if token is None:
        return [*cmd, "--phases", "examples,fuzzing,stateful"]
    return [*cmd, "-H", f"Authorization: Bearer {token}"]


@pytest.mark.parametrize("caller", ["anonymous", "leader"])
def test_all_checks(
    server: dict[str, Any],
    callers: dict[str, dict[str, str]],
    output_dir: Path,
    caller: str,
) -> None:
    """`schemathesis run` with every check (but the response-time limit) finds 0 failures (and 0
    errors)."""
    token = callers[caller].get("Authorization", "").removeprefix("Bearer ") or None
    run = subprocess.run(
        all_checks_command(server["base"], token),
        cwd=ROOT,  # schemathesis.toml
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    (output_dir / f"schemathesis_all_{caller}.txt").write_text(out)
    summary = [line.strip() for line in out.splitlines() if " generated, " in line]
    assert summary, out[-8000:]
    assert run.returncode == 0 and " found " not in summary[-1], f"{summary[-1]}\n{out[-8000:]}"


def _fuzz(operation: Any, callers: dict[str, dict[str, str]]) -> list[str]:
    """Run up to MAX_EXAMPLES generated cases (valid and invalid data) as every caller; return
    the server errors, and the answers whose status, content type, headers or body the document
    does not describe (checks of the response alone, so steered values do not mislead them)."""
    found: list[str] = []
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        for caller, headers in callers.items():
            response = case.call(headers=headers, timeout=REQUEST_TIMEOUT)
            try:
                case.validate_response(response, checks=RESPONSE_CHECKS, headers=headers)
            except FailureGroup as exc:
                found.append(f"{operation.label} as {caller}: {exc}")

    run()
    return found


def test_no_server_errors(
    contract_schema: Any, callers: dict[str, dict[str, str]], server: dict[str, Any]
) -> None:
    """Every operation, as anonymous and as each role: 0 responses with a 5xx status, 0 answers
    the document does not describe."""
    errors: list[str] = []
    for result in contract_schema.get_all_operations():
        errors += _fuzz(result.ok(), callers)
    if errors:
        tail = server["log"].read_text(errors="replace")[-6000:]
        report = "\n".join(errors[:20])
        pytest.fail(f"{len(errors)} failures:\n{report}\n--- server log ---\n{tail}")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/auth/token", b"username=a%00b&password=x"),  # NUL: was a 500
        ("GET", "/api/panoramas/94953933631229037379584", None),  # past int64: was a 500
        ("GET", "/api/panoramas/-167642244904945778163712/image", None),
        ("POST", "/api/activities/94953933631229037379584/checkins", b'{"lon":0,"lat":0}'),
        ("GET", "/api/nearest?lon=120.2&lat=30.3&kind=a%00b", None),
    ],
)
def test_server_errors_found_stay_fixed(
    server: dict[str, Any],
    callers: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: bytes | None,
) -> None:
    """Each case schemathesis once turned into a 500 is a clear 4xx, for every caller."""
    for caller, headers in callers.items():
        kind = (
            "application/json"
            if body and body.startswith(b"{")
            else "application/x-www-form-urlencoded"
        )
        req = urllib.request.Request(
            server["base"] + path,
            data=body,
            method=method,
            headers={**headers, "Content-Type": kind},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, text = res.status, res.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        assert 400 <= status < 500, (caller, path, status, text[:300])
        assert json.loads(text), (caller, path, text[:300])
