"""Builds the history benchmark's repository with git fast-import: thousands of commits of real
source text (files taken from the Swift package mirrors, then edited commit after commit) and
secrets that are added in one commit and removed a few commits later, so they live only in history.

  python3 history.py OUT [--commits 3200] [--branch-commits 200] [--secrets 100] [--seed 2]

OUT/repo.git      bare repository: main (linear), a side branch forked halfway, a tag
OUT/manifest.json planted secrets: commit, file, line, lines, rule, value
OUT/stats.json    commit count, patch bytes of `git log -p --all`
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

TEXT_EXT = {".swift", ".md", ".c", ".h", ".cc", ".py", ".yml", ".yaml", ".json", ".sh", ".txt",
            ".proto", ".rb", ".js", ".ts", ".html", ".css", ".toml", ".cmake", ".m", ".docc"}
MAX_BLOB = 96 * 1024


def git(*args, **kw):
    return subprocess.run(["git", *args], check=True, capture_output=True, **kw).stdout


def source_pool(mirror_glob, rng, limit):
    """Up to `limit` (path, lines) text files from the mirrors' HEADs, deterministic order."""
    entries = []
    seen_trees = set()
    for m in sorted(glob.glob(mirror_glob)):
        tree = git("--git-dir", m, "rev-parse", "HEAD^{tree}", text=True).strip()
        if tree in seen_trees:
            continue
        seen_trees.add(tree)
        repo = os.path.basename(m)[:-4]
        for line in git("--git-dir", m, "ls-tree", "-r", "-l", "HEAD", text=True).splitlines():
            meta, path = line.split("\t", 1)
            mode, kind, sha, size = meta.split()
            if kind == "blob" and mode == "100644" and 200 < int(size) <= MAX_BLOB \
                    and os.path.splitext(path)[1] in TEXT_EXT:
                entries.append((m, f"{repo}/{path}", sha))
    rng.shuffle(entries)
    entries = entries[:limit]
    # Fetch the contents, one cat-file --batch per mirror.
    by_mirror = {}
    for m, path, sha in entries:
        by_mirror.setdefault(m, []).append((path, sha))
    contents = {}
    for m, items in sorted(by_mirror.items()):
        proc = subprocess.run(["git", "--git-dir", m, "cat-file", "--batch"], check=True, capture_output=True,
                              input="".join(sha + "\n" for _, sha in items).encode())
        out, pos = proc.stdout, 0
        for path, _ in items:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            data = out[header_end + 1:header_end + 1 + size]
            pos = header_end + 1 + size + 1
            if b"\0" not in data:
                contents[path] = data.decode("utf-8", "replace").split("\n")
    return [(path, contents[path]) for _, path, _ in entries if path in contents]


class Writer:
    """Emits a git fast-import stream."""

    def __init__(self, stream):
        self.out = stream
        self.mark = 0
        self.time = 1_600_000_000

    def data(self, payload):
        self.out.write(b"data %d\n" % len(payload) + payload + b"\n")

    def commit(self, ref, message, changes, parent=None):
        """changes: {path: text or None (delete)}; returns the commit's mark."""
        self.mark += 1
        self.time += 600
        w = self.out.write
        w(b"commit %s\nmark :%d\n" % (ref.encode(), self.mark))
        w(b"committer Bench Dev <dev@bench.invalid> %d +0000\n" % self.time)
        self.data(message.encode())
        if parent is not None:
            w(b"from :%d\n" % parent)
        for path, text in sorted(changes.items()):
            if text is None:
                w(b"D %s\n" % path.encode())
            else:
                w(b"M 100644 inline %s\n" % path.encode())
                self.data("\n".join(text).encode())
        w(b"\n")
        return self.mark


def edit(rng, lines, pool):
    """One realistic-looking edit: insert borrowed lines, delete a range, or alter a few lines."""
    op = rng.random()
    at = rng.randrange(len(lines) + 1)
    if op < 0.45:
        _, donor = rng.choice(pool)
        start = rng.randrange(len(donor))
        lines[at:at] = donor[start:start + rng.randint(3, 40)]
    elif op < 0.7 and len(lines) > 30:
        del lines[at:at + rng.randint(1, 15)]
    else:
        for i in range(at, min(at + rng.randint(1, 6), len(lines))):
            lines[i] = lines[i].rstrip() + rng.choice([" // updated", "  # tweak", " ", ";"])


def build(out, commits, branch_commits, secrets, seed, mirror_glob):
    rng = random.Random(seed)
    pool = source_pool(mirror_glob, rng, 60_000)
    print(f"history: {len(pool)} source files in the pool", file=sys.stderr)
    repo = os.path.join(out, "repo.git")
    git("init", "-q", "--bare", "-b", "main", repo)
    proc = subprocess.Popen(["git", "--git-dir", repo, "fast-import", "--quiet",
                             f"--export-marks={out}/marks"], stdin=subprocess.PIPE)
    w = Writer(proc.stdin)
    next_file = iter(pool)
    pending = []       # (remove at commit index, path) for planted secrets still in the tree
    planted_log = []   # (mark, path, line, lines, expected, text)
    plant_every = max(1, (commits + branch_commits) // max(1, secrets))

    def run(ref, n, files, parent, index0, label):
        last = parent
        for i in range(index0, index0 + n):
            changes = {}
            for _ in range(rng.choice([1, 1, 2, 3, 4])):  # new files
                path, text = next(next_file)
                files[path] = list(text)
                changes[path] = files[path]
            busy = {path for _, path, _ in pending}  # files holding a planted secret stay as they are
            editable = sorted(p for p in files if p not in busy)
            for path in rng.sample(editable, min(len(editable), rng.randint(1, 3))):  # edits
                edit(rng, files[path], pool)
                changes[path] = files[path]
            if len(editable) > 400 and rng.random() < 0.1:  # the odd deletion
                victim = rng.choice(editable)
                del files[victim]
                changes[victim] = None
            secret = None
            if i % plant_every == plant_every // 2 and i < index0 + n - 45:  # removed within 40 commits
                path = rng.choice([p for p in editable if p in files])
                at = rng.randrange(len(files[path]) + 1)
                expected, text = planted.make(rng)
                files[path][at:at] = text
                changes[path] = files[path]
                secret = (path, at, expected, text)
            for remove_at, path, text in list(pending):  # take planted secrets out again
                if remove_at <= i and path in files:
                    lines = files[path]
                    for k in range(len(lines) - len(text) + 1):
                        if lines[k:k + len(text)] == text:
                            del lines[k:k + len(text)]
                            break
                    changes[path] = lines
                    pending.remove((remove_at, path, text))
                elif path not in files:
                    pending.remove((remove_at, path, text))
            last = w.commit(ref, f"{label} change {i}", changes, last)
            if secret:
                path, at, expected, text = secret
                pending.append((i + rng.randint(1, 40), path, text))
                for rule, offset in expected:
                    planted_log.append({"mark": last, "file": path, "line": at + 1 + offset,
                                        "lines": len(text) - offset, "rule": rule, "value": text[offset]})
        return last

    files = {}
    half = commits // 2
    fork = run("refs/heads/main", half, files, None, 0, "main")
    side_files = {p: list(t) for p, t in files.items()}
    side_pending = list(pending)
    tip = run("refs/heads/main", commits - half, files, fork, half, "main")
    w.out.write(b"reset refs/tags/v1.0\nfrom :%d\n\n" % tip)
    pending[:] = side_pending
    run("refs/heads/legacy", branch_commits, side_files, fork, commits, "legacy")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")

    marks = dict(line.split() for line in open(f"{out}/marks"))
    manifest = []
    for entry in planted_log:
        entry = dict(entry)
        entry["commit"] = marks[":%d" % entry.pop("mark")]
        manifest.append(entry)
    git("--git-dir", repo, "repack", "-a", "-d", "-q")
    return repo, manifest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--mirrors", default="/opt/swift-packages/*/*.git")
    p.add_argument("--commits", type=int, default=3200)
    p.add_argument("--branch-commits", type=int, default=200)
    p.add_argument("--secrets", type=int, default=100)
    p.add_argument("--seed", type=int, default=2)
    args = p.parse_args()

    h = hashlib.sha256()
    for path in (__file__, planted.__file__):
        h.update(open(path, "rb").read())
    h.update(repr((args.commits, args.branch_commits, args.secrets, args.seed, args.mirrors)).encode())
    stamp_file = os.path.join(args.out, "stamp")
    if os.path.exists(stamp_file) and open(stamp_file).read() == h.hexdigest():
        print(f"history: reusing {args.out}", file=sys.stderr)
        return
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    repo, manifest = build(args.out, args.commits, args.branch_commits, args.secrets, args.seed, args.mirrors)

    commits = int(git("--git-dir", repo, "rev-list", "--all", "--count", text=True))
    log = subprocess.Popen(["git", "--git-dir", repo, "log", "-p", "--all"], stdout=subprocess.PIPE)
    patch_bytes = 0
    while chunk := log.stdout.read(1 << 20):
        patch_bytes += len(chunk)
    log.wait()
    pack_bytes = sum(os.path.getsize(f) for f in glob.glob(f"{repo}/objects/pack/*"))
    stats = {"commits": commits, "patch_bytes": patch_bytes, "pack_bytes": pack_bytes, "planted": len(manifest),
             "refs": git("--git-dir", repo, "for-each-ref", "--format=%(refname)", text=True).split()}
    json.dump(manifest, open(os.path.join(args.out, "manifest.json"), "w"), indent=1)
    json.dump(stats, open(os.path.join(args.out, "stats.json"), "w"), indent=1)
    open(stamp_file, "w").write(h.hexdigest())
    print(f"history: {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
