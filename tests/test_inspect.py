#!/usr/bin/env python3
"""mpsync-inspect against the scripted scenes of tests/inspect_scene.cpp: the --json output checked
field by field, deadlocks of two and three processes found (exit status 2, every thread named),
a dead owner reported, and no false positive on a busy live queue. Writes a GoogleTest-style XML
(tests/results/inspect.xml) so scripts/tally.py counts each case.
Usage: test_inspect.py INSPECT_SCENE MPSYNC_INSPECT RESULTS_XML DEADLOCK_EXAMPLE"""
import json, os, subprocess, sys, time, traceback
from xml.sax.saxutils import quoteattr

SCENE, INSPECT, XML, EXAMPLE = sys.argv[1:5]
LIMIT = 20.0  # seconds any one step may take (a hang fails the case, never the suite)


class Scene:
    def __init__(self, mode):
        self.name = f"/mpsync-inspect-test-{os.getpid()}-{mode}"
        self.p = subprocess.Popen([SCENE, mode, self.name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()  # the scene prints one line once everything is in place
        if not line:
            raise AssertionError(f"scene {mode} did not start")
        self.info = json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=LIMIT)


def inspect(*args):
    r = subprocess.run([INSPECT, *args], capture_output=True, text=True, timeout=LIMIT)
    return r.returncode, r.stdout, r.stderr


def objects(scene, until=lambda objs: True):
    """The scene's objects by name from --json, polled until `until` holds (waiters take a moment
    to park) or LIMIT passes."""
    end = time.monotonic() + LIMIT
    while True:
        rc, out, err = inspect("--json", scene.name)
        assert rc == 0, err
        doc = json.loads(out)
        assert len(doc["regions"]) == 1
        reg = doc["regions"][0]
        objs = {o["name"]: o for o in reg["objects"] if o["name"]}
        if until(objs) or time.monotonic() > end:
            return reg, objs
        time.sleep(0.05)


def tids(waiters):
    return sorted(w["tid"] for w in waiters)


def test_scene_fields():
    s = Scene("scene")
    try:
        t = s.info["tids"]
        reg, o = objects(s, lambda o: len(o["state"]["waiters"]) == 1 and len(o["start"]["waiters"]) == 2
                         and len(o["changed"]["waiters"]) == 2)
        assert reg["name"] == s.name and reg["type"] == "named"
        assert s.info["pid"] in [m["pid"] for m in reg["mapped_by"]]
        st = o["state"]
        assert st["kind"] == "rlock" and st["count"] == 2 and st["owner_died"] is False
        assert st["owner"]["tid"] == t[0] and st["owner"]["pid"] == t[0] and st["owner"]["comm"] == "inspect_scene"
        assert tids(st["waiters"]) == [t[1]] and st["waiters"][0]["pid"] == t[1]
        assert 0 < time.time() - st["waiters"][0]["since"] < 3600
        assert o["ready"]["kind"] == "event" and o["ready"]["set"] is True and o["ready"]["waiters"] == []
        assert "owner" not in o["ready"] and "value" not in o["ready"]
        sl = o["slots"]
        assert sl["kind"] == "bounded_semaphore" and sl["value"] == 3 and sl["bound"] == 5
        b = o["start"]
        assert b["kind"] == "barrier" and b["parties"] == 3 and b["waiting"] == 2 and b["broken"] is False
        assert tids(b["waiters"]) == sorted(t[2:4])
        c = o["changed"]
        assert c["kind"] == "condition" and c["waiting"] == 2 and c["owner"] is None
        assert tids(c["waiters"]) == sorted(t[4:6])
        assert o["caf\u00e9 \u00ff"]["kind"] == "lock"  # é kept, the stray byte 0xff as U+00FF
        rc, out, _ = inspect(s.name)  # the text form names the same things
        assert rc == 0 and "held by" in out and "blocked:" in out and "3 of 5" in out
        assert "caf\u00e9 \\xff" in out  # a stray byte is shown escaped, never sent to the terminal raw
        rc, out, _ = inspect()  # the listing of every region includes this one, with its process
        assert rc == 0 and s.name in out and str(s.info["pid"]) in out
        rc, out, _ = inspect("--json", f"pid:{t[0]}")
        assert rc == 0 and s.name in [r.get("name") for r in json.loads(out)["regions"]]
        rc, out, _ = inspect("--deadlocks", s.name)
        assert rc == 0 and "no deadlock" in out
    finally:
        s.close()


def deadlock_case(mode, n):
    s = Scene(mode)
    try:
        t = s.info["tids"]
        objects(s, lambda o: sum(len(x["waiters"]) for x in o.values()) == n)
        rc, out, err = inspect("--deadlocks", "--json", s.name)
        assert rc == 2, (rc, out, err)
        found = json.loads(out)["deadlocks"]
        assert len(found) == 1 and found[0]["type"] == "cycle", found
        edges = found[0]["edges"]
        assert sorted(e["waiter"]["tid"] for e in edges) == sorted(t)
        for e in edges:  # each waits for a lock held by the next one round the cycle
            assert e["owner"]["tid"] in t and e["owner"]["tid"] != e["waiter"]["tid"]
        rc, out, _ = inspect("--deadlocks", s.name)
        assert rc == 2 and f"deadlock of {n} threads" in out
        for tid in t:
            assert str(tid) in out
        rc, out, _ = inspect("--deadlocks")  # found from the whole machine too
        assert rc == 2
        return edges
    finally:
        s.close()


def test_deadlock_two_processes():
    edges = deadlock_case("deadlock2", 2)
    assert sorted(e["object"] for e in edges) == ["A", "B"] and {e["kind"] for e in edges} == {"lock", "rlock"}


def test_deadlock_three_processes():
    edges = deadlock_case("deadlock3", 3)
    assert sorted(e["object"] for e in edges) == ["L0", "L1", "L2"]


def test_dead_owner():
    s = Scene("deadowner")
    try:
        objects(s, lambda o: len(o["orphan"]["waiters"]) == 1)
        rc, out, _ = inspect("--deadlocks", "--json", s.name)
        assert rc == 2
        f = json.loads(out)["deadlocks"]
        assert len(f) == 1 and f[0]["type"] == "dead_owner"
        assert f[0]["edges"][0]["owner"]["tid"] == s.info["tids"][0] and f[0]["edges"][0]["owner"]["alive"] is False
        assert f[0]["edges"][0]["waiter"]["tid"] == s.info["tids"][1]
    finally:
        s.close()


def test_busy_queue_is_no_deadlock():
    s = Scene("busy")
    try:
        seen_waiters = 0
        for _ in range(20):
            rc, out, err = inspect("--deadlocks", "--json", s.name)
            assert rc == 0, (rc, out, err)
            doc = json.loads(out)
            seen_waiters += sum(len(o["waiters"]) for o in doc["regions"][0]["objects"])
        assert seen_waiters > 0  # the queue was contended while we looked
    finally:
        s.close()


def test_watch_refreshes_until_interrupted():
    p = subprocess.Popen([INSPECT, "--watch", "0.1"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    p.send_signal(subprocess.signal.SIGINT)
    out, _ = p.communicate(timeout=LIMIT)
    assert p.returncode == 0 and out.count("\x1b[2J") >= 2


def test_readme_example_is_found():
    p = subprocess.Popen([EXAMPLE, "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert "deadlocked" in p.stdout.readline()
        end = time.monotonic() + LIMIT
        while True:
            rc, out, _ = inspect("--deadlocks", "/mpsync-deadlock-demo")
            if rc == 2 or time.monotonic() > end:
                break
            time.sleep(0.1)
        assert rc == 2, out
        assert "(transfer)" in out and "(audit)" in out and '"accounts"' in out and '"ledger"' in out
    finally:
        p.kill()
        p.wait(timeout=LIMIT)
        subprocess.run(["rm", "-f", "/dev/shm/mpsync-deadlock-demo"])


def test_refuses_what_is_not_a_region():
    junk = f"/dev/shm/mpsync-inspect-junk-{os.getpid()}"
    with open(junk, "wb") as f:
        f.write(b"x" * 4096)
    try:
        rc, _, err = inspect(os.path.basename(junk))
        assert rc == 1 and "not an mpsync region" in err
    finally:
        os.unlink(junk)
    rc, _, err = inspect("/mpsync-no-such-region-here")
    assert rc == 1 and "No such file" in err
    rc, _, err = inspect("--bogus")
    assert rc == 1


def main():
    cases = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    xml, failed = [], 0
    for name, fn in cases:
        t0 = time.monotonic()
        try:
            fn()
            res = ""
            print(f"[       OK ] Inspect.{name}", flush=True)
        except Exception:
            failed += 1
            res = f"<failure message={quoteattr(traceback.format_exc())}/>"
            print(f"[  FAILED  ] Inspect.{name}\n{traceback.format_exc()}", flush=True)
        xml.append(f'<testcase classname="Inspect" name="{name}" time="{time.monotonic() - t0:.3f}">{res}</testcase>')
    os.makedirs(os.path.dirname(XML), exist_ok=True)
    with open(XML, "w") as f:
        f.write(f'<?xml version="1.0"?>\n<testsuites><testsuite name="Inspect" tests="{len(cases)}">'
                + "".join(xml) + "</testsuite></testsuites>\n")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
