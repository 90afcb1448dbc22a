"""Drain N queued messages over STARTTLS + AUTH and compare with smtplib.

In one run, against one server (the bpmnb sandbox, or bench/sink_smtp.py),
in ``--rounds`` interleaved rounds (the order changes each round):

1. ``per-message``: a plain smtplib loop opening a connection (TLS, AUTH)
   for every message, the naive way (measured on ``--ref-n`` messages);
2. ``one connection``: a smtplib loop over one connection, sending the same
   bytes; the practical ceiling of a Python client;
3. ``bpmnb worker``: enqueue N messages (one transaction, executemany), then
   run ``bpmnb worker --once`` in a subprocess, what a user runs (it
   pipelines MAIL/RCPT/DATA, RFC 2920, as both servers advertise
   PIPELINING; ``--no-pipelining`` makes it wait for each reply like the
   references, which never pipeline); its rate
   is taken from the queue's own timestamps (first attempt to last
   acceptance; the rate with process start-up is shown too), its peak RSS
   is the ``VmHWM`` of its own address space, sampled until it exits.

Medians and bests are reported. ``--memory-n 5000,50000`` repeats step 3
with more queued messages to show the worker's peak memory does not grow
with the queue (it claims small batches and never loads all rows).

    .venv/bin/python bench/queue_drain.py --n 5000 --memory-n 5000,50000
    .venv/bin/python bench/queue_drain.py --n 500 --rounds 1   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import trustme

from bpmnb import message as message_mod
from bpmnb import storage
from bpmnb.home import Home
from bpmnb.queue import Queue, Status
from bpmnb.sandbox import clear
from bpmnb.sandbox import info as sandbox_info
from bpmnb.settings import AccountSettings, Encryption

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BPMNB = Path(sys.executable).with_name("bpmnb")
TO = "odbiorca@example.com"


def template(home: Home) -> tuple[bytes, str]:
    """One message built by bpmnb, as bytes, with a Message-ID to replace."""
    settings = storage.load(home)
    assert settings is not None
    built = message_mod.build(
        settings,
        to=TO,
        subject="Powiadomienie z obiegu dokumentów",
        body="Dokument FZ 5/2021 czeka na akceptację.\n" * 8,
    )
    mid = str(built["Message-ID"])
    # The bytes Queue.enqueue stores: SMTP policy, CRLF line ends.
    return built.as_bytes(policy=policy.SMTP), mid


def variants(raw: bytes, mid: str, n: int, tag: str) -> Iterator[tuple[bytes, str]]:
    """``n`` copies with their own Message-IDs, made one at a time (the
    bench process must not hold the whole queue in memory either)."""
    for i in range(n):
        new_mid = f"<bench-{tag}-{i}@example.com>"
        yield raw.replace(mid.encode(), new_mid.encode(), 1), new_mid


@dataclass(frozen=True)
class Target:
    """Where the bench sends: host, STARTTLS port, CA and credential."""

    host: str
    starttls_port: int
    ca_file: Path
    login: str
    password: str


def start_sink(home: Home) -> tuple[subprocess.Popen[str], Target]:
    """bench/sink_smtp.py in its own process, with a trustme certificate for
    127.0.0.1, and settings pointing at it saved in ``home``."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file = home.root / "sink-ca.pem"
    chain = home.root / "sink-chain.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "sink_smtp.py"),
            "--port",
            str(port),
            "--chain",
            str(chain),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    target = Target("127.0.0.1", port, ca_file, "powiadomienia@example.com", "x" * 16)
    storage.save(
        home,
        AccountSettings.model_validate(
            {
                "enabled": True,
                "account_name": "Sink",
                "sender": "powiadomienia@example.com",
                "host": target.host,
                "port": port,
                "encryption": Encryption.STARTTLS,
                "login": target.login,
                "password": target.password,
                "timeout": 10.0,
                "ca_file": str(ca_file),
            }
        ),
    )
    return proc, target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(home: Home) -> tuple[subprocess.Popen[str], Target]:
    """``bpmnb sandbox --configure`` in its own process, so the server does
    not share a GIL with the client being measured."""
    proc = subprocess.Popen(
        [str(BPMNB), "--home", str(home.root), "sandbox", "--configure", "--json"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())
    found = sandbox_info(home)
    assert found is not None
    return proc, Target(
        found.host, found.starttls_port, found.ca_file, found.login, found.password
    )


def smtp_client(box: Target) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(box.ca_file))
    client = smtplib.SMTP(box.host, box.starttls_port, timeout=10)
    client.starttls(context=context)
    client.login(box.login, box.password)
    return client


def per_message(box: Target, messages: Iterator[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    n = 0
    for raw, _ in messages:
        client = smtp_client(box)
        client.sendmail("powiadomienia@example.com", [TO], raw)
        client.quit()
        n += 1
    return n / (time.perf_counter() - started)


def one_connection(box: Target, messages: Iterator[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    client = smtp_client(box)
    n = 0
    for raw, _ in messages:
        client.sendmail("powiadomienia@example.com", [TO], raw)
        n += 1
    client.quit()
    return n / (time.perf_counter() - started)


def drain(
    home: Home, messages: Iterator[tuple[bytes, str]], n: int
) -> dict[str, float]:
    """Enqueue ``messages`` into a fresh queue, drain with a worker process."""
    home.queue_file.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(home.queue_file) + suffix).unlink(missing_ok=True)
    queue = Queue(home.queue_file)
    started = time.perf_counter()
    queue.enqueue_raw_many(
        ((raw, "Powiadomienie", [TO], mid) for raw, mid in messages), kind="bench"
    )
    enqueue_s = time.perf_counter() - started
    env = dict(os.environ, BPMNB_HOME=str(home.root))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BPMNB), "--home", str(home.root), "worker", "--once"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # ru_maxrss is no use here: on Linux a child's value starts from the
    # parent's peak at fork. VmHWM in /proc is the high-water mark of the
    # worker's own address space (reset at exec); sample it until exit.
    peak_kb = 0
    status_file = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    counts = queue.counts()
    if proc.returncode != 0 or counts[Status.SENT] != n:
        raise SystemExit(f"drain incomplete: rc={proc.returncode} counts={counts}")
    # The drain itself: from the first attempt to the last acceptance, as
    # the queue recorded them (the process start-up is reported apart).
    with sqlite3.connect(home.queue_file) as db:
        (first,) = db.execute("SELECT min(started_at) FROM attempts").fetchone()
        (last,) = db.execute("SELECT max(sent_at) FROM messages").fetchone()
    db.close()
    window = float(last) - float(first)
    return {
        "n": n,
        "enqueue_s": enqueue_s,
        "process_s": elapsed,
        "drain_s": window,
        "rate": n / window,
        "rate_with_startup": n / elapsed,
        "peak_rss_mb": peak_kb / 1024,
    }


def file_create_us(directory: Path, n: int = 300) -> float:
    """Microseconds to create, write and rename one small file in
    ``directory``, as the sandbox does per message (Maildir tmp/ to new/):
    shows how busy the disk was, which the sandbox's rate depends on."""
    probe = Path(tempfile.mkdtemp(prefix="disk-probe-", dir=directory))
    started = time.perf_counter()
    for i in range(n):
        fd = os.open(probe / f"t{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"x" * 800)
        os.close(fd)
        os.rename(probe / f"t{i}", probe / f"n{i}")
    elapsed = time.perf_counter() - started
    for i in range(n):
        (probe / f"n{i}").unlink()
    probe.rmdir()
    return elapsed / n * 1e6


def settle() -> None:
    """Write out what the previous step left (the sandbox's deleted Maildir
    files, the old queue) before the next measurement starts, so that no
    measurement pays for the disk work of the one before it."""
    os.sync()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="messages to drain")
    parser.add_argument(
        "--ref-n",
        type=int,
        default=500,
        help="messages for the per-message reference (slow: one TLS handshake each)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds of the three measurements (median and best)",
    )
    parser.add_argument(
        "--memory-n",
        default="",
        help="comma-separated queue sizes for the memory check, e.g. 5000,50000",
    )
    parser.add_argument(
        "--server",
        choices=["sandbox", "sink"],
        default="sandbox",
        help="the bpmnb sandbox (aiosmtpd + Maildir) or bench/sink_smtp.py",
    )
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="run the worker with BPMNB_PIPELINING=0 (lock-step, for comparison); "
        "the smtplib references never pipeline",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-queue-", dir=OUT))
    home = Home(root).ensure()
    os.environ["BPMNB_SECRET_BACKEND"] = "file"
    if args.no_pipelining:
        os.environ["BPMNB_PIPELINING"] = "0"  # inherited by the worker only
    ref_n = min(args.ref_n, args.n)
    results: dict[str, Any] = {
        "n": args.n,
        "ref_n": ref_n,
        "rounds": args.rounds,
        "server": args.server,
        "worker_pipelining": not args.no_pipelining,
        "load_before": os.getloadavg(),
        "file_create_us_before": file_create_us(root),
    }
    start = start_sandbox if args.server == "sandbox" else start_sink
    server, box = start(home)
    per: list[float] = []
    one: list[float] = []
    workers: list[dict[str, float]] = []
    memory: list[dict[str, float]] = []
    try:
        raw, mid = template(home)
        results["message_bytes"] = len(raw)

        def run_per(tag: str) -> None:
            per.append(per_message(box, variants(raw, mid, ref_n, f"per{tag}")))

        def run_one(tag: str) -> None:
            one.append(one_connection(box, variants(raw, mid, args.n, f"one{tag}")))

        def run_worker(tag: str) -> None:
            workers.append(
                drain(home, variants(raw, mid, args.n, f"worker{tag}"), args.n)
            )

        # The three measurements take turns, in a different order each
        # round, so drift of a shared machine does not favour any of them.
        orders = [
            (run_per, run_one, run_worker),
            (run_worker, run_one, run_per),
            (run_one, run_worker, run_per),
        ]
        # The sandbox's Maildir is emptied only at the end: deleting
        # thousands of files just before a measurement slowed the sandbox's
        # file creation during it (by about a third, whichever client was
        # measured), which charged each step for the one before it.
        for index in range(args.rounds):
            for step in orders[index % len(orders)]:
                settle()
                step(str(index))
        for size in [int(s) for s in args.memory_n.split(",") if s.strip()]:
            settle()
            memory.append(drain(home, variants(raw, mid, size, f"mem{size}"), size))
    finally:
        server.terminate()
        server.wait(30)
        clear(home)

    rates = [w["rate"] for w in workers]
    results.update(
        {
            "per_message_rates": per,
            "one_connection_rates": one,
            "worker": workers,
            "worker_rates": rates,
            "memory": memory,
            "load_after": os.getloadavg(),
            "file_create_us_after": file_create_us(root),
        }
    )
    results["vs_ceiling_median"] = median(rates) / median(one)
    results["vs_ceiling_best"] = max(rates) / max(one)
    results["vs_per_message_median"] = median(rates) / median(per)
    results["vs_per_message_best"] = max(rates) / max(per)
    mode = "_lockstep" if args.no_pipelining else ""
    out = args.json or OUT / f"queue_drain_{args.server}_{args.n}{mode}.json"
    out.write_text(json.dumps(results, indent=2))

    def show(values: list[float]) -> str:
        each = ", ".join(f"{v:.0f}" for v in values)
        return f"median {median(values):.0f}, best {max(values):.0f} msg/s ({each})"

    print(
        f"server: {args.server}; {args.rounds} interleaved round(s); worker "
        + ("lock-step (--no-pipelining)" if args.no_pipelining else "pipelining")
    )
    print(f"message size: {results['message_bytes']} bytes")
    print(f"per-message smtplib ({ref_n} msgs): {show(per)}")
    print(f"one-connection smtplib ({args.n} msgs): {show(one)}")
    print(f"bpmnb worker --once ({args.n} msgs): {show(rates)}")
    print(
        "  with process start-up: "
        + show([w["rate_with_startup"] for w in workers])
        + f"; peak RSS {max(w['peak_rss_mb'] for w in workers):.1f} MB"
    )
    print(
        f"worker / ceiling: median {results['vs_ceiling_median']:.2f}, "
        f"best {results['vs_ceiling_best']:.2f}; "
        f"worker / per-message: median {results['vs_per_message_median']:.1f}, "
        f"best {results['vs_per_message_best']:.1f}"
    )
    print(
        "load average before/after: "
        f"{results['load_before'][0]:.2f} / {results['load_after'][0]:.2f}"
    )
    print(
        "file create+rename before/after (disk load): "
        f"{results['file_create_us_before']:.0f} / "
        f"{results['file_create_us_after']:.0f} us"
    )
    for row in memory:
        print(
            f"memory: {row['n']:.0f} queued -> peak RSS {row['peak_rss_mb']:.1f} MB, "
            f"{row['rate']:.0f} msg/s, enqueue {row['enqueue_s']:.2f} s"
        )


if __name__ == "__main__":
    main()
