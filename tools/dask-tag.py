#!/usr/bin/python3
"""Tag a directory of text files on a Dask cluster: each file is a partition
of a Dask bag, piped through attntag on a worker (attntag is a line-aligned
filter, exactly what a bag partition needs), and written to OUT_DIR as
RELATIVE_PATH + EXT, as `attntag tag -r IN_DIR -o OUT_DIR` would name it.

    tools/dask-tag.py IN_DIR OUT_DIR [--scheduler tcp://HOST:8786]
                      [--workers 2] [--attntag PATH] [-- ATTNTAG OPTION...]

Without --scheduler, a local cluster of --workers processes is started. On a
real cluster, attntag (and its model, or the one named with -m) must be
installed on every worker at the same path; the files are read on the
client and their text sent to the workers, so the workers need no shared
file system. Needs Debian's python3-dask and python3-distributed."""
import argparse
import os
import subprocess
import sys

EXT = {"wordtag": ".tag", "tsv": ".tsv", "conllu": ".conllu", "json": ".jsonl"}


def tag_partition(data, attntag, args):
    """One file's bytes, through attntag on the worker: [(status, output, messages)]."""
    p = subprocess.run([attntag] + args, input=data, capture_output=True, check=False)
    return [(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))]


def output_format(args):
    fmt = "wordtag"
    for i, a in enumerate(args):
        if a in ("-f", "--format") and i + 1 < len(args):
            fmt = args[i + 1]
        elif a.startswith("--format="):
            fmt = a.split("=", 1)[1]
    return fmt


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler")
    ap.add_argument("--workers", type=int, default=2, help="local cluster size (default 2)")
    ap.add_argument("--attntag", default="attntag", help="attntag on the workers")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    args = argv[cut + 1:]  # after --: options for attntag (e.g. -f tsv -m MODEL)
    import dask.bag as db
    from dask.distributed import Client, LocalCluster

    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.in_dir) for f in fs)
    if not files:
        sys.exit(f"dask-tag: no files under {a.in_dir}")
    if a.scheduler:
        client = Client(a.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        # one partition per file, read on the client: the workers need no shared disk
        failed = 0
        names, data = [], []
        for path in files:
            try:
                with open(path, "rb") as f:
                    data.append(f.read())
                names.append(path)
            except OSError as e:
                print(f"dask-tag: {path}: {e.strerror}", file=sys.stderr)
                failed += 1
        bag = db.from_sequence(data, npartitions=max(1, len(data))).map_partitions(
            lambda part: tag_partition(part[0], a.attntag, args) if part else [])
        results = bag.compute() if data else []
        ext = EXT[output_format(args)]
        base = os.path.dirname(os.path.normpath(a.in_dir))
        tagged = 0
        for path, (status, out, err) in zip(names, results):
            if status != 0:  # no output for a file attntag refused, as in its batch mode
                print(f"dask-tag: {path}: {err.strip()}", file=sys.stderr)
                failed += 1
                continue
            write_atomic(os.path.join(a.out_dir, os.path.relpath(path, base or ".") + ext), out)
            tagged += 1
        workers = len(client.scheduler_info()["workers"])
        print(f"dask-tag: {tagged} files tagged, {failed} failed, on {workers} workers",
              file=sys.stderr)
        if failed:
            sys.exit(2)
    finally:
        client.close()
        if cluster:
            cluster.close()


if __name__ == "__main__":
    main()
