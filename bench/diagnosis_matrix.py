"""Time-to-verdict of ``bpmnb check`` against swaks and smtplib, fault by fault.

Every case of ``tests/support/faultservers.matrix()`` runs once against each
of three clients, all on loopback:

* bpmnb: :func:`bpmnb.diagnosis.check` with a 30 s settings timeout (the
  same as swaks' default, so silence costs all three the same);
* swaks (``/usr/bin/swaks``) with ``--tls`` / ``--tls-on-connect`` /
  ``--tls-optional-strict`` as the case's encryption says, ``--tls-verify
  --tls-ca-path`` so certificate faults can be seen at all, ``--auth PLAIN``
  and ``--timeout 30`` (its default);
* smtplib (in a fresh interpreter) as most scripts use it:
  ``SMTP``/``SMTP_SSL`` and ``starttls()`` with their defaults (no timeout,
  no certificate verification), ``login()``, ``sendmail()``.

The references run in subprocesses killed after ``KILL`` seconds, so their
times include starting swaks (Perl) or a Python interpreter (about 0.1-0.2
s); bpmnb runs in-process first, alone. Whether a
client "named" the fault is judged from its output with one pattern per
code (the server's own reply text counts when the client prints it).
Results go to ``bench/out/diagnosis_matrix.json`` and the table in
``docs/diagnosis.md`` between the BENCH markers.

Run: ``.venv/bin/python bench/diagnosis_matrix.py``
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bpmnb import diagnosis  # noqa: E402
from bpmnb.errors import Code  # noqa: E402
from bpmnb.settings import Encryption  # noqa: E402
from tests.support import faultservers as fs  # noqa: E402
from tests.support.net import ca_file  # noqa: E402

CAP = 30.0  # the wait given to every client (swaks' own default)
KILL = CAP + 5  # a reference still running then is killed: "no verdict"
SWAKS = "/usr/bin/swaks"
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "diagnosis.md"
BEGIN, END = "<!-- BENCH:BEGIN -->", "<!-- BENCH:END -->"

# What in a reference's output counts as naming the fault.
NAMED: dict[Code, str] = {
    Code.OK: r"^$",  # judged by success instead
    Code.DNS_FAILED: r"resolve|not known|getaddrinfo|gaierror|no such host",
    Code.CONNECT_REFUSED: r"refused",
    Code.CONNECT_TIMEOUT: r"timed? ?out|timeout",
    Code.NO_GREETING: r"timed? ?out|timeout|banner|greeting",
    Code.SERVER_BUSY: r"\b421\b",
    Code.TLS_EXPECTED: r"tls-on-connect|implicit TLS|expects? (TLS|SSL)|\bSMTPS\b",
    Code.TLS_NOT_SPOKEN: r"wrong.version.number|not (speak|talk)ing TLS",
    Code.TLS_FAILED: r"protocol.version|unsupported.protocol|no.protocols",
    Code.STARTTLS_UNAVAILABLE: r"STARTTLS",
    Code.CERT_UNTRUSTED: r"local issuer|self.signed|untrusted|unable to get",
    Code.CERT_NAME_MISMATCH: r"mismatch|hostname|does(n't| not) match",
    Code.CERT_EXPIRED: r"expired",
    Code.AUTH_UNAVAILABLE: r"AUTH.*(not supported|not advertised)|no suitable auth"
    r"|not supported by (the )?server|auth extension",
    Code.PLAINTEXT_REFUSED: r"refus\w* .*(plain|clear|unencrypted)",
    Code.AUTH_FAILED: r"\b535\b|authentication (failed|unsuccessful)|not accepted",
    Code.APP_PASSWORD_REQUIRED: r"5\.7\.9|application-specific password",
    Code.AUTH_DISABLED: r"5\.7\.139|SmtpClientAuthentication",
    Code.TOKEN_INVALID: r"XOAUTH2.*(invalid|401)",
    Code.SENDER_REJECTED: r"SenderRefused|5\.7\.60",
    Code.RECIPIENT_REJECTED: r"RecipientsRefused|5\.1\.1|no such user",
    Code.MESSAGE_REJECTED: r"DataError|5\.6\.0|rejected as spam",
    Code.TEMPORARY_FAILURE: r"\b451\b|4\.3\.0",
    Code.CONNECTION_DROPPED: r"disconnect|closed|EOF|lost|reset|broken pipe",
}

SMTPLIB_SCRIPT = r"""
import smtplib, sys
host, port, enc, login, pw, sender, rcpt = sys.argv[1:8]
msg = "Subject: bench\r\n\r\nbench\r\n"
try:
    s = smtplib.SMTP_SSL(host, int(port)) if enc == "ssl" else smtplib.SMTP(
        host, int(port))
    s.ehlo()
    if enc == "starttls" or (enc == "auto" and s.has_extn("starttls")):
        s.starttls()
        s.ehlo()
    if login:
        s.login(login, pw)
    s.sendmail(sender, [rcpt], msg)
    s.quit()
    print("OK")
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(1)
"""


@dataclass
class Outcome:
    seconds: float
    capped: bool
    named: bool
    said: str


def _judge(case: fs.Case, ok: bool, output: str) -> bool:
    if case.code is Code.OK:
        return ok
    if ok:
        return False  # claimed success where there is a fault
    return re.search(NAMED[case.code], output, re.I | re.S) is not None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:90]


def _telling_line(case: fs.Case, text: str) -> str:
    """The line that named the fault, else the client's last error line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if case.code is not Code.OK:
        for line in lines:
            if re.search(NAMED[case.code], line, re.I):
                return line[:90]
    errors = [ln for ln in lines if ln.startswith("***")]
    return (errors[-1] if errors else _last_line(text))[:90]


def _subprocess(case: fs.Case, argv: list[str]) -> Outcome:
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=KILL, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else ""
        said = f"no verdict in {KILL:g} s {_last_line(out)}".strip()
        return Outcome(KILL, True, False, said)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    return Outcome(
        elapsed,
        False,
        _judge(case, done.returncode == 0, output),
        _telling_line(case, output),
    )


def run_swaks(case: fs.Case, port: int, ca: Path) -> Outcome | None:
    if case.credential == "xoauth2":
        return None  # swaks has no XOAUTH2
    argv = [
        SWAKS,
        "--server",
        f"{case.host}:{port}",
        "--from",
        fs.SENDER,
        "--to",
        case.rcpt or fs.RCPT,
        "--timeout",
        f"{CAP:g}",
    ]
    tls = {
        Encryption.STARTTLS: ["--tls"],
        Encryption.SSL: ["--tls-on-connect"],
        Encryption.AUTO: ["--tls-optional-strict"],
        Encryption.NONE: [],
    }[case.encryption]
    if tls:
        argv += [*tls, "--tls-verify", "--tls-ca-path", str(ca)]
    if case.credential:
        argv += ["--auth", "PLAIN", "--auth-user", fs.LOGIN]
        argv += ["--auth-password", fs.PASSWORD]
    return _subprocess(case, argv)


def run_smtplib(case: fs.Case, port: int) -> Outcome | None:
    if case.credential == "xoauth2":
        return None  # smtplib's login() has no XOAUTH2
    login = fs.LOGIN if case.credential else ""
    argv = [
        sys.executable,
        "-c",
        SMTPLIB_SCRIPT,
        case.host,
        str(port),
        str(case.encryption),
        login,
        fs.PASSWORD,
        fs.SENDER,
        case.rcpt or fs.RCPT,
    ]
    return _subprocess(case, argv)


def run_bpmnb(case: fs.Case, port: int, ca: Path) -> Outcome:
    settings = fs.settings_for(case, port, ca).model_copy(update={"timeout": CAP})
    started = time.monotonic()
    report = diagnosis.check(
        settings, fs.credential(case.credential), rcpt=case.rcpt, send=case.send
    )
    elapsed = time.monotonic() - started
    named = report.code is case.code
    return Outcome(elapsed, False, named, f"{report.code} at {report.stage or '-'}")


def run_case(case: fs.Case, ca: Path) -> dict[str, object]:
    try:
        with fs.running(case) as (port, _server):
            # bpmnb alone (its time is not inflated by the references'
            # interpreters starting), then both references side by side.
            ours = run_bpmnb(case, port, ca)
            with ThreadPoolExecutor(2) as pool:
                swaks = pool.submit(run_swaks, case, port, ca)
                stdlib = pool.submit(run_smtplib, case, port)
                results = {
                    "bpmnb": ours,
                    "swaks": swaks.result(),
                    "smtplib": stdlib.result(),
                }
    except RuntimeError as exc:  # filled_backlog did not work here
        return {"case": case.name, "skipped": str(exc)}
    return {
        "case": case.name,
        "code": str(case.code),
        **{k: (v.__dict__ if v else None) for k, v in results.items()},
    }


def _cell(value: object) -> str:
    if not isinstance(value, dict):
        return "n/a"
    seconds = float(value["seconds"])
    time_text = f"≥{KILL:g} s (killed)" if value["capped"] else f"{seconds:.2f} s"
    return f"{time_text}, {'yes' if value['named'] else 'no'}"


def _said(value: object) -> str:
    if not isinstance(value, dict):
        return ""
    return str(value["said"]).replace("|", "\\|")


def table(rows: list[dict[str, object]]) -> str:
    head = (
        "| case | bpmnb | swaks | smtplib | swaks said "
        "| smtplib said |\n|---|---|---|---|---|---|\n"
    )
    body = ""
    for row in rows:
        if "skipped" in row:
            body += f"| {row['case']} | skipped: {row['skipped']} | | | | |\n"
            continue
        body += (
            f"| {row['case']} | {_cell(row['bpmnb'])} | {_cell(row['swaks'])} "
            f"| {_cell(row['smtplib'])} | {_said(row['swaks'])} "
            f"| {_said(row['smtplib'])} |\n"
        )
    return head + body


def summary(rows: list[dict[str, object]]) -> str:
    lines = []
    for tool in ("bpmnb", "swaks", "smtplib"):
        cells = [r[tool] for r in rows if isinstance(r.get(tool), dict)]
        named = sum(1 for c in cells if isinstance(c, dict) and c["named"])
        total = sum(float(c["seconds"]) for c in cells if isinstance(c, dict))
        capped = sum(1 for c in cells if isinstance(c, dict) and c["capped"])
        lines.append(
            f"- **{tool}**: named {named} of {len(cells)} cases; total time "
            f"{total:.1f} s; {capped} case(s) killed at {KILL:g} s."
        )
    return "\n".join(lines)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ca = ca_file(Path(tempfile.mkdtemp(prefix="bpmnb-bench-")))
    rows = []
    for case in fs.matrix():
        row = run_case(case, ca)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    (OUT / "diagnosis_matrix.json").write_text(
        json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    swaks_version = subprocess.run(
        [SWAKS, "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    block = (
        f"{BEGIN}\n"
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"{swaks_version}. Every client was given a {CAP:g} s timeout where it "
        f"has one (bpmnb settings timeout, swaks --timeout); smtplib has none "
        f"by default. A reference still running after {KILL:g} s was killed "
        f"(no verdict). Cells: time to verdict, whether the fault was named."
        f"\n\n"
        f"{table(rows)}\n{summary(rows)}\n{END}"
    )
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc += "\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")
    print(table(rows))
    print(summary(rows))


if __name__ == "__main__":
    main()
