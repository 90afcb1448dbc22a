"""Drain N queued messages to the sandbox (STARTTLS + AUTH) and compare.

In one run, against one sandbox:

1. ``per-message``: a plain smtplib loop opening a connection (TLS, AUTH)
   for every message, the naive way (measured on ``--ref-n`` messages);
2. ``one connection``: a smtplib loop over one connection, sending the same
   bytes; the practical ceiling of a Python client;
3. ``bpmnb worker``: enqueue N messages (one transaction, executemany), then
   run ``bpmnb worker --once`` in a subprocess and time the drain; its peak
   RSS comes from ``os.wait4``.

``--memory-n 5000,50000`` repeats step 3 with more queued messages to show
the worker's peak memory does not grow with the queue (it claims small
batches and never loads all rows). Figures go to stdout and, with
``--write-docs``, into the table in docs/queue.md.

    .venv/bin/python bench/queue_drain.py --n 5000
    .venv/bin/python bench/queue_drain.py --n 500           # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bpmnb import message as message_mod
from bpmnb import storage
from bpmnb.home import Home
from bpmnb.queue import Queue, Status
from bpmnb.sandbox import SandboxInfo, clear
from bpmnb.sandbox import info as sandbox_info

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
    return built.as_bytes(), mid


def variants(raw: bytes, mid: str, n: int, tag: str) -> list[tuple[bytes, str]]:
    out = []
    for i in range(n):
        new_mid = f"<bench-{tag}-{i}@example.com>"
        out.append((raw.replace(mid.encode(), new_mid.encode(), 1), new_mid))
    return out


def start_sandbox(home: Home) -> tuple[subprocess.Popen[str], SandboxInfo]:
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
    return proc, found


def smtp_client(box: SandboxInfo) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(box.ca_file))
    client = smtplib.SMTP(box.host, box.starttls_port, timeout=10)
    client.starttls(context=context)
    client.login(box.login, box.password)
    return client


def per_message(box: SandboxInfo, messages: list[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    for raw, _ in messages:
        client = smtp_client(box)
        client.sendmail("powiadomienia@example.com", [TO], raw)
        client.quit()
    return len(messages) / (time.perf_counter() - started)


def one_connection(box: SandboxInfo, messages: list[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    client = smtp_client(box)
    for raw, _ in messages:
        client.sendmail("powiadomienia@example.com", [TO], raw)
    client.quit()
    return len(messages) / (time.perf_counter() - started)


def drain(home: Home, messages: list[tuple[bytes, str]]) -> dict[str, float]:
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
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    counts = queue.counts()
    if proc.returncode != 0 or counts[Status.SENT] != len(messages):
        raise SystemExit(f"drain incomplete: rc={proc.returncode} counts={counts}")
    # The drain itself: from the first attempt to the last acceptance, as
    # the queue recorded them (the process start-up is reported apart).
    with sqlite3.connect(home.queue_file) as db:
        (first,) = db.execute("SELECT min(started_at) FROM attempts").fetchone()
        (last,) = db.execute("SELECT max(sent_at) FROM messages").fetchone()
    db.close()
    window = float(last) - float(first)
    return {
        "n": len(messages),
        "enqueue_s": enqueue_s,
        "process_s": elapsed,
        "drain_s": window,
        "rate": len(messages) / window,
        "rate_with_startup": len(messages) / elapsed,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux: kilobytes
    }


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
        "--memory-n",
        default="",
        help="comma-separated queue sizes for the memory check, e.g. 5000,50000",
    )
    parser.add_argument("--json", type=Path, default=OUT / "queue_drain.json")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-queue-", dir=OUT))
    home = Home(root).ensure()
    os.environ["BPMNB_SECRET_BACKEND"] = "file"
    results: dict[str, object] = {"n": args.n, "ref_n": args.ref_n}
    server, box = start_sandbox(home)
    try:
        raw, mid = template(home)
        results["message_bytes"] = len(raw)

        ref = variants(raw, mid, min(args.ref_n, args.n), "per")
        results["per_message_rate"] = per_message(box, ref)
        clear(home)
        # The ceiling is measured before and after the worker, and averaged,
        # so drift on a shared machine does not favour either side.
        ceiling = variants(raw, mid, args.n, "one")
        before = one_connection(box, ceiling)
        clear(home)
        worker = drain(home, variants(raw, mid, args.n, "worker"))
        results["worker"] = worker
        clear(home)
        after = one_connection(box, variants(raw, mid, args.n, "two"))
        clear(home)
        results["one_connection_runs"] = [before, after]
        results["one_connection_rate"] = (before + after) / 2
        memory = []
        for size in [int(s) for s in args.memory_n.split(",") if s.strip()]:
            memory.append(drain(home, variants(raw, mid, size, f"mem{size}")))
            clear(home)
        results["memory"] = memory
    finally:
        server.terminate()
        server.wait(30)

    rate = float(worker["rate"])
    results["vs_ceiling"] = rate / float(results["one_connection_rate"])  # type: ignore[arg-type]
    results["vs_per_message"] = rate / float(results["per_message_rate"])  # type: ignore[arg-type]
    args.json.write_text(json.dumps(results, indent=2))
    print(f"message size: {results['message_bytes']} bytes")
    print(
        f"per-message smtplib ({min(args.ref_n, args.n)} msgs): "
        f"{results['per_message_rate']:.0f} msg/s"
    )
    runs = results["one_connection_runs"]
    print(
        f"one-connection smtplib ({args.n} msgs): "
        f"{results['one_connection_rate']:.0f} msg/s (runs: {runs})"
    )
    print(
        f"bpmnb worker ({args.n} msgs): {rate:.0f} msg/s "
        f"({worker['rate_with_startup']:.0f} with process start-up), "
        f"enqueue {worker['enqueue_s']:.3f} s, peak RSS {worker['peak_rss_mb']:.1f} MB"
    )
    print(
        f"worker / ceiling = {results['vs_ceiling']:.2f}; "
        f"worker / per-message = {results['vs_per_message']:.1f}"
    )
    for row in memory:
        print(
            f"memory: {row['n']:.0f} queued -> peak RSS {row['peak_rss_mb']:.1f} MB, "
            f"{row['rate']:.0f} msg/s, enqueue {row['enqueue_s']:.2f} s"
        )


if __name__ == "__main__":
    main()
