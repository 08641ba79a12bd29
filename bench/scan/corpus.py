"""Builds the scan benchmark's file tree: the HEAD of every Swift package mirror, unpacked, with
secrets planted at random line boundaries of random text files.

  python3 corpus.py OUT [--mirrors GLOB] [--min-mb 200] [--secrets 200] [--seed 1]

OUT/tree/<owner>/<repo>/...  the files (mirrors with an identical tree are unpacked once)
OUT/manifest.json            planted secrets: file, line, lines, rule, value
OUT/stats.json               byte and file counts (all files; text = no NUL byte and <= 10 MiB)
If the unpacked mirrors hold fewer than --min-mb megabytes of text, the tree is replicated into
OUT/tree/copy-N/ until it does. Reuses OUT when its stamp matches the inputs and this code.
"""

import argparse
import glob
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import planted  # noqa: E402

MAX_FILE = 10 * 1024 * 1024


def stamp_for(args, mirrors):
    h = hashlib.sha256()
    for path in (__file__, planted.__file__):
        h.update(open(path, "rb").read())
    h.update(repr((args.min_mb, args.secrets, args.seed)).encode())
    for m in mirrors:
        h.update(m.encode())
    return h.hexdigest()


def tree_hash(git_dir):
    return subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "HEAD^{tree}"],
                          capture_output=True, text=True, check=True).stdout.strip()


def unpack(git_dir, dest):
    os.makedirs(dest, exist_ok=True)
    archive = subprocess.Popen(["git", "--git-dir", git_dir, "archive", "HEAD"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"git archive failed for {git_dir}")


def walk(root):
    """(relative path, size, is_text) for every regular file under root, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            size = os.path.getsize(path)
            text = size <= MAX_FILE
            if text:
                with open(path, "rb") as f:
                    text = b"\0" not in f.read()
            out.append((os.path.relpath(path, root), size, text))
    return out


def plant(tree, files, count, rng):
    """Inserts `count` secrets into distinct random non-empty text files; returns the manifest."""
    candidates = [f for f, size, text in files if text and 0 < size < 4 * 1024 * 1024]
    manifest = []
    for rel in rng.sample(candidates, count):
        path = os.path.join(tree, rel)
        with open(path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        at = rng.randrange(len(lines))  # insert before line `at` (0-based)
        expected, text = planted.make(rng)
        lines[at:at] = [t.encode() for t in text]
        with open(path, "wb") as f:
            f.write(b"\n".join(lines))
        for rule, offset in expected:
            manifest.append({"file": rel, "line": at + 1 + offset, "lines": len(text) - offset,
                             "rule": rule, "value": text[offset]})
    return manifest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--mirrors", default="/opt/swift-packages/*/*.git")
    p.add_argument("--min-mb", type=float, default=200)
    p.add_argument("--secrets", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    mirrors = sorted(glob.glob(args.mirrors))
    if not mirrors:
        raise SystemExit(f"no mirrors match {args.mirrors}")
    stamp = stamp_for(args, mirrors)
    stamp_file = os.path.join(args.out, "stamp")
    if os.path.exists(stamp_file) and open(stamp_file).read() == stamp:
        print(f"corpus: reusing {args.out}", file=sys.stderr)
        return
    shutil.rmtree(args.out, ignore_errors=True)
    tree = os.path.join(args.out, "tree")
    os.makedirs(tree)

    # One copy of each distinct tree (several mirrors differ only in the owner's spelling).
    seen = set()
    unpacked = 0
    for m in mirrors:
        th = tree_hash(m)
        if th in seen:
            continue
        seen.add(th)
        owner, name = m.rstrip("/").split("/")[-2:]
        unpack(m, os.path.join(tree, owner, name[:-4] if name.endswith(".git") else name))
        unpacked += 1
    print(f"corpus: unpacked {unpacked} distinct mirrors of {len(mirrors)}", file=sys.stderr)

    files = walk(tree)
    text_bytes = sum(s for _, s, t in files if t)
    copies = 0
    originals = [d for d in sorted(os.listdir(tree))]
    while text_bytes * (copies + 1) < args.min_mb * 1e6:
        copies += 1
        for d in originals:
            shutil.copytree(os.path.join(tree, d), os.path.join(tree, f"copy-{copies}", d), symlinks=True)
    if copies:
        print(f"corpus: text is {text_bytes / 1e6:.0f} MB, replicated into {copies} copies", file=sys.stderr)
        files = walk(tree)

    rng = random.Random(args.seed)
    manifest = plant(tree, files, args.secrets, rng)
    files = walk(tree)
    stats = {
        "files": len(files),
        "bytes": sum(s for _, s, _ in files),
        "text_files": sum(1 for _, _, t in files if t),
        "text_bytes": sum(s for _, s, t in files if t),
        "mirrors": len(mirrors),
        "distinct_mirrors": unpacked,
        "copies": copies,
        "planted": len(manifest),
    }
    json.dump(manifest, open(os.path.join(args.out, "manifest.json"), "w"), indent=1)
    json.dump(stats, open(os.path.join(args.out, "stats.json"), "w"), indent=1)
    open(stamp_file, "w").write(stamp)
    print(f"corpus: {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
