"""``probe``: the usual port/encryption pairs tried at once, on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpmnb import probe
from bpmnb.errors import Code
from bpmnb.settings import Encryption
from tests.support import faultservers as fs
from tests.support.net import ca_file, server_context

CLI = "import sys; from bpmnb.cli import main; sys.exit(main())"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca_file(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def servers() -> Iterator[dict[str, int]]:
    """465-style implicit TLS, 587-style STARTTLS, and a silent "25"."""
    implicit = fs.FaultServer(fs.Behaviour(implicit_tls=server_context())).start()
    starttls = fs.FaultServer(
        fs.Behaviour(starttls=server_context(), auth=("LOGIN", "PLAIN", "XOAUTH2"))
    ).start()
    silent = fs.FaultServer(fs.Behaviour(greeting=None)).start()
    try:
        yield {
            "submissions": implicit.port,
            "submission": starttls.port,
            "smtp": silent.port,
        }
    finally:
        for server in (implicit, starttls, silent):
            server.stop()


def test_candidate_hosts() -> None:
    assert probe.candidate_hosts("smtp.wp.pl") == ["smtp.wp.pl"]
    assert probe.candidate_hosts("Jan@Example.COM") == [
        "smtp.example.com",
        "mail.example.com",
        "example.com",
    ]


def test_probe_orders_working_pairs_and_bounds_silence(
    servers: dict[str, int], ca: Path
) -> None:
    started = time.monotonic()
    found = probe.probe("localhost", ports=servers, ca_file=str(ca))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"probe took {elapsed:.2f} s"
    pairs = [(r.port, r.encryption) for r in found]
    assert pairs == [
        (servers["submissions"], Encryption.SSL),
        (servers["submission"], Encryption.STARTTLS),
        (servers["submission"], Encryption.NONE),
    ]
    assert found[0].auth_mechs == ("PLAIN", "LOGIN")
    assert found[1].auth_mechs == ("LOGIN", "PLAIN", "XOAUTH2")
    assert found[0].tls is not None and found[1].tls is not None
    assert found[2].tls is None
    assert all(r.ok and r.code is Code.OK for r in found)
    # Loopback test ports are not among those the cloud opens.
    assert not any(r.cloud_open for r in found)


def test_probe_reports_failures_on_request(servers: dict[str, int], ca: Path) -> None:
    everything = probe.probe(
        "127.0.0.1", ports=servers, ca_file=str(ca), include_failed=True
    )
    failed = {(r.port, r.encryption): r.code for r in everything if not r.ok}
    assert failed[(servers["smtp"], Encryption.STARTTLS)] is Code.NO_GREETING
    assert failed[(servers["smtp"], Encryption.NONE)] is Code.NO_GREETING
    assert len(everything) == 5


def test_probe_for_an_address(servers: dict[str, int], ca: Path) -> None:
    found = probe.probe("jan@localhost", ports=servers, ca_file=str(ca))
    assert found and found[0].encryption is Encryption.SSL
    assert found[0].host in ("smtp.localhost", "mail.localhost", "localhost")


def test_cloud_ports_marked() -> None:
    assert probe.DEFAULT_PORTS == {"submissions": 465, "submission": 587, "smtp": 25}


def test_unknown_role_rejected() -> None:
    with pytest.raises(ValueError, match="unknown port roles"):
        probe.probe("localhost", ports={"imap": 993})


def test_cli_probe_json(servers: dict[str, int], ca: Path, tmp_path: Path) -> None:
    ports = ",".join(f"{k}={v}" for k, v in servers.items())
    env = {**os.environ, "BPMNB_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", CLI, "--lang", "en", "probe", "localhost",
         "--ports", ports, "--ca-file", str(ca), "--json"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True
    assert [r["encryption"] for r in data["results"]] == ["ssl", "starttls", "none"]
    assert data["results"][0]["cloud_open"] is False


def test_cli_probe_nothing_works(tmp_path: Path) -> None:
    env = {**os.environ, "BPMNB_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", CLI, "--lang", "pl", "probe", "smtp.nothing.invalid"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "smtp.nothing.invalid" in out.stdout


@pytest.mark.parametrize(
    "target", ["127.0.0.1:99999", "127.0.0.1:abc", "", "  ", "jan@", "smtp wp.pl"]
)
def test_probe_refuses_a_target_it_cannot_try(tmp_path: Path, target: str) -> None:
    """Not looked up in DNS as a name: refused as bad usage, with the reason."""
    out = subprocess.run(
        [sys.executable, "-c", CLI, "--home", str(tmp_path), "probe", target],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    assert "65535" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize(
    "target",
    ["smtp.wp.pl", "smtp.wp.pl:587", "jan@wp.pl", "Jan <jan@wp.pl>", "[::1]:25"],
)
def test_probe_accepts_what_users_paste(target: str) -> None:
    assert probe.valid_target(target)
