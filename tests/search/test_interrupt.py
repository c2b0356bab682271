"""search.interrupt: a stop request ends a worker's waits, including a database retry."""

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy

from storage import open_storage
from tests import cli

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
try:
    storage.get_all_studies()
    print("answered", flush=True)
except KeyboardInterrupt:
    print("stopped", flush=True)
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
    wait the call ends while the server is still down; with a plain sleep (the control) it
    went on retrying until the server was back, and then answered."""
    proc = subprocess.Popen([sys.executable, "-c", CALL_AFTER_GO, postgres_url, wait],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    outage = threading.Thread(target=postgres_server.restart, args=(15,))
    try:
        assert proc.stdout.readline().strip() == "ready"
        outage.start()
        _until_down(postgres_url)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(1)  # into the retries; a signal sent earlier would end them all the same
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=120)
        server_still_down = outage.is_alive()  # restart() returns once the server is up
        assert stdout.split() == [outcome]
        if outcome == "stopped":  # it did not wait out the outage
            assert server_still_down
        # "answered" needs the server, so the control waited for it.
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


# --- the real CLI: what a signal leaves behind -------------------------------------------

TINY = 'mode = "grid"\n[train]\nepochs = 1\n[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n'


def _signal_once_open(proc: subprocess.Popen, name: str, signum: int) -> None:
    """Send ``signum`` as soon as the process holds a file whose path ends with ``name``."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            fds = list(Path(f"/proc/{proc.pid}/fd").iterdir())
            if any(str(fd.readlink()).endswith(name) for fd in fds):
                proc.send_signal(signum)
                return
        except OSError:  # a descriptor closed while it was read
            pass
        time.sleep(0.005)
    raise AssertionError(f"the process never opened {name}")


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sig")
    (tmp / "tiny.toml").write_text(TINY)
    url = f"sqlite:///{tmp}/studies.db"
    done = cli.run("run", "--preset", str(tmp / "tiny.toml"), "--train-subset", "200",
                   "--storage", url, "--study-name", "kept", "--out", str(tmp / "out"),
                   "--quiet")
    assert done.returncode == 0, done.stderr
    return tmp, url


@pytest.mark.trains
@pytest.mark.slow
def test_sigterm_during_export_stops_it_and_writes_nothing_partial(kept, tmp_path):
    """As a container's process 1 the default SIGTERM is ignored: export finished and
    exited 0. Now it stops at once (130), one line, and writes all its files or none."""
    _, url = kept
    out = tmp_path / "exported"
    proc = cli.start("export", "--study-name", "kept", "--storage", url, "--out", str(out))
    _signal_once_open(proc, "studies.db", signal.SIGTERM)
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, err)
    assert err.strip().splitlines() == ["interrupted: stopped"]
    written = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert written in ([], ["best_architecture.json", "best_architecture.md",
                            "best_model.keras"]), written


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_data_load_creates_no_study(tmp_path, signum):
    (tmp_path / "tiny.toml").write_text(TINY)
    store = tmp_path / "studies.db"
    proc = cli.start("run", "--preset", str(tmp_path / "tiny.toml"), "--storage",
                     f"sqlite:///{store}", "--study-name", "new", "--out", str(tmp_path / "out"))
    _signal_once_open(proc, "-idx3-ubyte.gz", signum)  # the images are being read
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip().splitlines() == [
        "interrupted: stopped, no trial was running; run the same command to resume"]
    assert "Traceback" not in err and "marked FAIL" not in err
    assert not store.exists()  # no store, so no study


# Blocks in a journal write (the test holds the journal's lock) and reports how it ended.
# It also says when it is blocked ("waiting": its first failed try to take the lock) and
# each signal it receives ("signal"), so that the test acts on events, not on sleeps.
WRITE_UNDER_SIGNALS = """
import os
import signal
import sys
from search import interrupt
from storage import open_storage
import optuna
interrupt.install()
handler = signal.getsignal(signal.SIGINT)

def announced(signum, frame):
    print("signal", flush=True)
    handler(signum, frame)

signal.signal(signal.SIGINT, announced)
symlink, said = os.symlink, []

def lock_try(*args, **kwargs):
    try:
        return symlink(*args, **kwargs)
    except FileExistsError:
        if not said:
            said.append(print("waiting", flush=True))
        raise

os.symlink = lock_try
storage = open_storage("journal:///" + sys.argv[1])
study = optuna.create_study(storage=storage, study_name="s")
if sys.argv[2] == "shielded":
    interrupt.shield_writes(storage)
print("ready", flush=True)
sys.stdin.readline()
try:
    storage.set_study_user_attr(study._study_id, "note", "kept")
    print("written", flush=True)
except KeyboardInterrupt:
    print("stopped", flush=True)
"""


@pytest.mark.parametrize(("where", "stored"), [("shielded", True), ("plain", False)])
def test_a_second_signal_never_cuts_a_storage_write(tmp_path, where, stored):
    """The write waits for the journal's lock (held here) when two signals come: through
    shield_writes it is finished, then the worker stops; unshielded (the control) the
    second signal cut it."""
    journal = tmp_path / "s.log"
    proc = subprocess.Popen([sys.executable, "-c", WRITE_UNDER_SIGNALS, str(journal), where],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=cli.ROOT)
    watchdog = threading.Timer(60, proc.kill)  # a deadlocked child fails the test, not CI
    watchdog.start()
    try:
        assert proc.stdout.readline().strip() == "ready"
        lock = Path(f"{journal}.lock")
        lock.symlink_to(journal)  # another process is writing
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "waiting"  # blocked inside the write
        for _ in range(2):  # the first sets the flag, the second would stop at once
            proc.send_signal(signal.SIGINT)
            assert proc.stdout.readline().strip() == "signal"
        if where == "plain":  # cut: Optuna's lock wait gives up on the interrupt (and
            # removes the lock it waited for, another writer's: what the shield prevents)
            assert proc.stdout.readline().strip() == "stopped"
        lock.unlink(missing_ok=True)  # the other writer is done
        if where == "shielded":  # the write went on, and finished, before the stop
            assert proc.stdout.readline().strip() == "stopped"
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    study = optuna.load_study(study_name="s", storage=open_storage(f"journal:///{journal}"))
    assert ("note" in study.user_attrs) is stored
