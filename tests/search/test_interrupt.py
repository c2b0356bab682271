"""search.interrupt: a stop request ends a worker's waits, including a database retry."""

import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy

# Connects once, then on "go" makes one more database call and says how it ended.
CALL_AFTER_GO = """
import sys, time
from search import interrupt
from storage import open_storage
interrupt.install()
wait = interrupt.sleep if sys.argv[2] == "interruptible" else time.sleep
storage = open_storage(sys.argv[1], wait=wait)
storage.get_all_studies()
print("ready", flush=True)
sys.stdin.readline()
start = time.monotonic()
try:
    storage.get_all_studies()
    print("answered", round(time.monotonic() - start, 1), flush=True)
except KeyboardInterrupt:
    print("stopped", round(time.monotonic() - start, 1), flush=True)
"""


def _until_down(url: str) -> None:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with engine.connect():
                time.sleep(0.1)
        except sqlalchemy.exc.OperationalError:
            return
    raise AssertionError("the server did not go down")


@pytest.mark.slow
@pytest.mark.parametrize(("wait", "outcome"), [("interruptible", "stopped"),
                                               ("plain", "answered")])
def test_ctrl_c_ends_a_database_retry_at_once(postgres_server, postgres_url, wait, outcome):
    """The server is down for 15 s; Ctrl-C comes 1 s into the retries. With the worker's
    wait the call ends within a second or two; with a plain sleep (the control) it went on
    retrying until the server was back."""
    proc = subprocess.Popen([sys.executable, "-c", CALL_AFTER_GO, postgres_url, wait],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    outage = threading.Thread(target=postgres_server.restart, args=(15,))
    try:
        assert proc.stdout.readline().strip() == "ready"
        outage.start()
        _until_down(postgres_url)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        word, seconds = proc.stdout.readline().split()
        assert word == outcome
        if outcome == "stopped":
            assert float(seconds) < 3
        else:
            assert float(seconds) > 5  # it waited for the server
    finally:
        proc.kill()
        proc.wait()
        outage.join()


# The first signal sets the flag; the second, inside or outside a shielded write.
SECOND_SIGNAL = """
import os, signal, sys, time
from search import interrupt
interrupt.install()
os.kill(os.getpid(), signal.SIGINT)
try:
    if sys.argv[1] == "shielded":
        with interrupt.shielded():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            print("write finished", flush=True)
    else:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        print("write finished", flush=True)
except KeyboardInterrupt:
    print("stopped", flush=True)
"""


@pytest.mark.parametrize(("where", "printed"), [("shielded", ["write finished", "stopped"]),
                                                ("plain", ["stopped"])])
def test_a_second_signal_waits_for_a_shielded_write_and_stops_at_once_elsewhere(where,
                                                                                printed):
    done = subprocess.run([sys.executable, "-c", SECOND_SIGNAL, where], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split("\n")[:-1] == printed, done.stderr
