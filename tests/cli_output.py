"""Command-line tests: output paths: regular files replaced atomically, never a device or a link. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


# --- output paths: replace regular files atomically, never a device or a link ----



def leftovers(d, keep):
    """Files in d other than keep: a temporary left behind shows here."""
    return sorted(set(os.listdir(d)) - set(keep))


@test
def output_to_devices_is_written_in_place():
    if os.geteuid() != 0:  # mknod needs root; the FIFO test below covers the rest
        print("SKIP output_to_devices_is_written_in_place: mknod needs root")
        return
    import stat
    d = scratch("dev")
    full, null = os.path.join(d, "full"), os.path.join(d, "null")
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # as /dev/full
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null
    expect(["convert", REF, full], 2, "No space left on device")
    assert run(["convert", REF, null])[0] == 0
    for node, minor in ((full, 7), (null, 3)):
        st = os.lstat(node)
        assert stat.S_ISCHR(st.st_mode) and os.minor(st.st_rdev) == minor, f"{node} replaced"
    assert leftovers(d, ["full", "null"]) == []


@test
def output_to_fifo_and_stdout_is_a_stream():
    import threading
    d = scratch("fifo")
    fifo = os.path.join(d, "pipe")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    rc, _, err = run(["convert", REF, fifo])
    reader.join(timeout=60)
    if reader.is_alive():  # still waiting on a FIFO nobody wrote: let it go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert rc == 0, err
    assert got == [ref_binary()], "the FIFO's reader did not get the model"
    assert os.path.exists(fifo) and not os.path.isfile(fifo), "the FIFO was replaced"
    assert leftovers(d, ["pipe"]) == []
    rc, out, err = run(["convert", REF, "/dev/stdout"])  # standard output is a pipe here
    assert rc == 0 and out == ref_binary(), err


@test
def output_through_links_replaces_the_target():
    d = scratch("links")
    os.mkdir(os.path.join(d, "real"))
    target = os.path.join(d, "real", "model")
    with open(target, "w") as f:
        f.write("old")
    os.chmod(target, 0o640)
    os.symlink("real/model", os.path.join(d, "link"))       # relative to the link's directory
    os.symlink("link", os.path.join(d, "link2"))            # a chain
    os.symlink("real/new", os.path.join(d, "dangling"))     # target not there yet
    os.symlink("loop2", os.path.join(d, "loop1"))
    os.symlink("loop1", os.path.join(d, "loop2"))
    assert run(["convert", REF, os.path.join(d, "link2")])[0] == 0
    assert os.path.islink(os.path.join(d, "link")) and os.path.islink(os.path.join(d, "link2"))
    with open(target, "rb") as f:
        assert f.read() == ref_binary()
    assert os.stat(target).st_mode & 0o7777 == 0o640, oct(os.stat(target).st_mode)
    assert run(["convert", REF, os.path.join(d, "dangling")])[0] == 0
    assert os.path.islink(os.path.join(d, "dangling"))
    with open(os.path.join(d, "real", "new"), "rb") as f:
        assert f.read() == ref_binary()
    expect(["convert", REF, os.path.join(d, "loop1")], 2, "symbolic links")
    assert leftovers(os.path.join(d, "real"), ["model", "new"]) == []
    assert leftovers(d, ["real", "link", "link2", "dangling", "loop1", "loop2"]) == []


@test
def output_mode_kept_or_from_umask():
    d = scratch("mode")
    old = os.path.join(d, "old.safetensors")
    with open(old, "w") as f:
        f.write("x")
    os.chmod(old, 0o604)
    new = os.path.join(d, "new.safetensors")
    mask = os.umask(0o027)
    try:
        assert run(["convert", REF, old])[0] == 0
        assert run(["convert", REF, new])[0] == 0
    finally:
        os.umask(mask)
    assert os.stat(old).st_mode & 0o7777 == 0o604
    assert os.stat(new).st_mode & 0o7777 == 0o640  # 0666 less the umask, as any new file


@test
def output_paths_checked_before_work():
    d = scratch("early")
    missing = os.path.join(d, "no", "such", "dir", "m.safetensors")
    expect(["convert", REF, missing], 2, "cannot create a file in " + os.path.join(d, "no", "such", "dir"))
    expect(["convert", REF, d], 2, "is a directory")
    # a training run fails on its output path at once, not after its epochs
    rc, out, err = run(["train"] + TINY + ["-o", missing, "--epochs", "50"])
    assert rc == 2 and "cannot create a file in" in err and "epoch" not in err, err
    rc, out, err = run(["train"] + TINY + ["-o", os.path.join(d, "m.st"), "--checkpoint", missing,
                                           "--epochs", "50"])
    assert rc == 2 and "cannot create a file in" in err and "epoch" not in err, err
    rc, out, err = run(["train"] + TINY + ["-o", os.path.join(d, "m.st"), "--log", missing,
                                           "--epochs", "50"])
    assert rc == 2 and "cannot create a file in" in err and "epoch" not in err, err
    model = tiny_model()
    expect(["eval", "-m", model, "--confusion", missing, os.path.join(FIX, "tiny_dev.conllu")], 2,
           "cannot create a file in")
    assert leftovers(d, []) == []



@test
def killed_writer_leaves_the_old_file():
    d = scratch("kill")
    big = os.path.join(ROOT, "models", "en-ewt.safetensors")
    want = os.path.join(d, "want.json")
    assert run(["convert", big, want])[0] == 0
    with open(want, "rb") as f:
        new = f.read()
    out = os.path.join(d, "model.json")
    mid_write = 0
    for attempt in range(20):
        with open(out, "wb") as f:
            f.write(b"OLD")
        for name in os.listdir(d):
            if ".tmp" in name:
                os.unlink(os.path.join(d, name))
        p = subprocess.Popen([BIN, "convert", big, out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # kill as soon as the temporary file appears: mid-write (42 MB of JSON)
        while p.poll() is None and not any(".tmp" in n for n in os.listdir(d)):
            pass
        p.kill()  # SIGKILL: no handler runs
        p.wait()
        with open(out, "rb") as f:
            got = f.read()
        assert got in (b"OLD", new), f"attempt {attempt}: {len(got)} bytes under the final name"
        if got == b"OLD" and any(".tmp" in n for n in os.listdir(d)):
            mid_write += 1  # killed while the temporary was being written
        if mid_write >= 3:
            break
    assert mid_write >= 1, "no kill landed while the model was being written"


@test
def tag_output_errors_are_reported():
    rc, out, err = run(["-m", REF, "-f", "json", "--probs"], b"The cat sat .\n" * 20000)
    assert rc == 0, err
    # standard output closed early, as by `| head -1`: no message
    p = subprocess.Popen(f"'{BIN}' -m '{REF}' | head -c 1 > /dev/null", shell=True,
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, e = p.communicate(b"The cat sat .\n" * 200000, timeout=120)
    assert e == b"", e
    if os.geteuid() == 0:  # a full device, made in a scratch directory
        import stat
        d = scratch("full-out")
        full = os.path.join(d, "full")
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        with open(full, "wb") as f:
            r = subprocess.run([BIN, "-m", REF], input=b"The cat sat .\n" * 1000, stdout=f,
                               stderr=subprocess.PIPE)
        assert r.returncode == 2 and b"No space left on device" in r.stderr, r.stderr
        for args in (["info", REF], ["--version"], ["--help"], ["convert", "--help"],
                     ["eval", "-m", tiny_model(), os.path.join(FIX, "tiny_dev.conllu")]):
            with open(full, "wb") as f:
                r = subprocess.run([BIN] + args, stdout=f, stderr=subprocess.PIPE)
            assert r.returncode == 2 and r.stderr.count(b"No space left on device") == 1, \
                (args, r.returncode, r.stderr)
