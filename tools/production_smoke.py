"""Production smoke test: build a release the way production does, start it, and load the pages.

Issue 10, finding 2: the production build served 500 on every page because collectstatic
could not finish (a vendored script's source map was not copied) and nothing noticed.
This runs, from the committed tree (``git archive HEAD``) in a temporary directory:

1. the npm vendor step (``make static-vendor``; with CI=true a missing npm fails);
2. ``check --deploy --fail-level WARNING`` and ``collectstatic`` with the manifest storage,
   under ``AMI_PROFILE=production`` with every secret generated for this run only;
3. ``migrate`` into a throw-away SQLite file and one customer with a premise and a meter;
4. gunicorn on a random loopback port; over plain HTTP with ``X-Forwarded-Proto: https``
   (``AMI_BEHIND_PROXY``), as the TLS-terminating proxy would send it:
   the sign-in page, a sign-in, the customer home, the usage dashboard (and the hashed
   chart script it names) and the API docs must answer 200, and a token sent in a URL
   must be refused and left out of gunicorn's access log.

Every process it starts is stopped and the directory removed, pass or fail.
Usage: ``.venv/bin/python tools/production_smoke.py [COMMIT]`` (``make smoke``; default HEAD).
"""

from __future__ import annotations

import base64
import http.client
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EMAIL = "smoke.customer@example.test"
TOKEN_IN_URL = "smoke-token-sent-in-a-url"

# One process for the release steps: each start of Django costs seconds on a busy CI runner.
RELEASE = """
import os
from datetime import date
from django.core.management import call_command

call_command("check", deploy=True, fail_level="WARNING")
print("smoke:   check --deploy passed", flush=True)
call_command("collectstatic", interactive=False, verbosity=0)
print("smoke:   collectstatic (manifest storage) done", flush=True)
call_command("migrate", interactive=False, verbosity=0)
print("smoke:   migrate done", flush=True)

from django.contrib.auth import get_user_model
from amiportal.accounts.roles import Role, role_assign
from amiportal.premises.models import CustomerAccount, Meter, Premise
from amiportal.premises.services import agreement_move_in

user = get_user_model().objects.create_user(os.environ["SMOKE_EMAIL"], os.environ["SMOKE_PASSWORD"], full_name="Smoke Test")
role_assign(user=user, role=Role.CUSTOMER)
account = CustomerAccount.objects.create(account_number="SMOKE-1", name="Smoke Test", account_class="residential", user=user)
premise = Premise.objects.create(service_point_id="SP-SMOKE-1", address_line="1 Test Street", city="Springfield",
                                 postal_code="00001", customer_class="residential")
Meter.objects.create(premise=premise, serial_number="SMOKE-E-1", kind="electric", installed_on=date(2025, 1, 1))
agreement_move_in(account=account, premise=premise, move_in=date(2025, 1, 1))
print(premise.pk)
"""


class SmokeFailure(Exception):
    pass


_STARTED = time.monotonic()


def _step(title: str) -> None:
    print(f"smoke: [{time.monotonic() - _STARTED:5.1f} s] {title}", flush=True)


def _run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 90) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SmokeFailure(f"{' '.join(command[:3])} ... exited {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def production_env(*, var_dir: Path, port: int, password: str) -> dict[str, str]:
    """The production profile with secrets made for this run only; nothing from the caller's AMI_* leaks in."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "CI", "NPM_CONFIG_CACHE") if name in os.environ}
    return {
        **keep,
        "PATH": f"{BIN}:{keep.get('PATH', '/usr/bin:/bin')}",
        "AMI_PROFILE": "production",
        "AMI_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'smoke.sqlite3'}",
        "CACHE_URL": os.environ.get("AMI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AMI_KEYRING": f"smoke:{_key()}",
        "AMI_AUDIT_HMAC_KEY": _key(),
        "AMI_AUDIT_SIGNING_KEY": _key(),
        "AMI_SECRET_HASH_KEY": _key(),
        "AMI_HAN_SIGNING_KEY": _key(),
        "EMAIL_HOST": "127.0.0.1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
        "AMI_BEHIND_PROXY": "true",
        "AMI_TRUSTED_PROXIES": "127.0.0.1",
        "SMOKE_EMAIL": EMAIL,
        "SMOKE_PASSWORD": password,
    }


def export_commit(target: Path, revision: str) -> str:
    """The committed tree, as a fresh clone would have it (no untracked or ignored files)."""
    resolve = ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"]
    commit = subprocess.run(resolve, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return commit


class Browser:
    """Just enough of a browser behind a TLS proxy: cookies (Secure ones too), CSRF token, Referer."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.50"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin, "Referer": self.origin + path})
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def expect(self, path: str, status: int, form: dict[str, str] | None = None) -> tuple[dict[str, str], str]:
        got, headers, text = self.request("POST" if form is not None else "GET", path, form)
        if got != status:
            raise SmokeFailure(f"{path}: expected {status}, got {got}\n{text[:2000]}")
        print(f"smoke:   {'POST' if form is not None else 'GET '} {path} -> {got}", flush=True)
        return headers, text


def wait_until_serving(server: subprocess.Popen, port: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeFailure(f"gunicorn exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SmokeFailure(f"gunicorn did not listen on port {port} within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def browse(port: int, *, password: str, premise_id: int, vendored: bool) -> None:
    browser = Browser(port)
    _, page = browser.expect("/accounts/login/", 200)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        raise SmokeFailure("the sign-in page has no CSRF token")
    browser.expect(f"/customer/premises/{premise_id}/usage/", 302)  # signed out: to the sign-in page
    headers, _ = browser.expect("/accounts/login/", 302, form={"email": EMAIL, "password": password, "csrfmiddlewaretoken": token.group(1)})
    browser.expect(headers["location"], 302)
    browser.expect("/customer/", 200)
    _, dashboard = browser.expect(f"/customer/premises/{premise_id}/usage/", 200)
    if vendored:
        script = re.search(r"/static/vendor/chart\.umd\.min\.[0-9a-f]{12}\.js", dashboard)
        if script is None:
            raise SmokeFailure("the dashboard does not name the hashed chart script")
        browser.expect(script.group(0), 200)
    browser.expect("/developer/api/", 200)
    browser.expect(f"/espi/1_1/resource/ReadServiceStatus?access_token={TOKEN_IN_URL}", 401)


def access_log_is_clean(log: str) -> None:
    """gunicorn.conf.py's logger: a token sent in a URL never reaches the access log."""
    if TOKEN_IN_URL in log or "access_token=REDACTED" not in log:
        raise SmokeFailure("the access log shows a token sent in a URL (or no access log was written)")
    print("smoke:   access log: the token sent in a URL is redacted", flush=True)


def main(revision: str = "HEAD") -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ami-smoke-"))
    server, server_output = None, ""
    try:
        source, var_dir = workdir / "src", workdir / "var"
        source.mkdir()
        commit = export_commit(source, revision)
        _step(f"release of {commit[:12]} in {workdir}")
        port, password = _free_port(), secrets.token_urlsafe(18)
        env = production_env(var_dir=var_dir, port=port, password=password)
        _step("vendor step (make static-vendor)")
        _run(["make", "--no-print-directory", "static-vendor"], cwd=source, env=env, timeout=120)
        vendor = source / "static" / "vendor"
        vendored = (vendor / "chart.umd.min.js").exists()
        if not vendored:
            print("smoke:   npm not found: no chart library, pages checked without it", flush=True)
        manage = [sys.executable, "manage.py"]
        _step("check --deploy, collectstatic, migrate, a customer with a premise")
        output = _run([*manage, "shell", "--no-imports", "-c", RELEASE], cwd=source, env=env, timeout=150)
        print("\n".join(line for line in output.splitlines() if line.startswith("smoke:")), flush=True)
        premise_id = int(output.split()[-1])
        _step(f"gunicorn on 127.0.0.1:{port}")
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "amiportal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"],
            cwd=source,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_serving(server, port)
        browse(port, password=password, premise_id=premise_id, vendored=vendored)
        stop(server)
        server_output = (server.stdout.read() or b"").decode(errors="replace")
        access_log_is_clean(server_output)
    except (SmokeFailure, subprocess.TimeoutExpired) as failure:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
        if server is not None:
            stop(server)
            print((server_output or (server.stdout.read() or b"").decode(errors="replace"))[-4000:], file=sys.stderr)
        return 1
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"smoke: production smoke test passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
