"""Times sigil scan against ripgrep, detect-secrets and CredSweeper, side by side, and prints the summary.

The tools compared run back to back in rounds (order rotating), so each round's ratio is taken
under the same machine load; the table reports medians of times and of per-round ratios. Each
command runs once untimed first to warm the page cache. Peak RSS is ru_maxrss from wait4 (what
`/usr/bin/time -f %M` reports). Called by bench/scan.sh; see there for the arguments.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import walk  # noqa: E402

MB = 1e6


def own_peak(pid, peak, done):
    """Polls the process's own high-water RSS (VmHWM, which only grows) until done is set."""
    while not done.is_set():
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass
        done.wait(0.02)


def run(cmd, out_path, cwd, ok=(0, 1)):
    """Runs cmd (a list, or a string for bash) with stdout to out_path; returns
    (seconds, own peak RSS bytes, peak RSS bytes with children, CPU seconds)."""
    shell = isinstance(cmd, str)
    argv = ["bash", "-o", "pipefail", "-c", cmd] if shell else cmd
    peak, done = [0], threading.Event()
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd)
        poller = threading.Thread(target=own_peak, args=(proc.pid, peak, done))
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        sys.stderr.write(open(out_path + ".err").read()[-2000:])
        raise SystemExit(f"exit {proc.returncode}: {cmd}")
    # ru_maxrss (KiB) is the largest of the process and the children it waited for: a `git log`
    # that sigil runs counts, as do git and rg under a pipeline's bash. VmHWM polled every 20 ms
    # is the process's own figure (it may miss growth in its last 20 ms).
    return seconds, peak[0], usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


class Bench:
    def __init__(self, name, cmd, size, cwd, ok=(0, 1)):
        self.name, self.cmd, self.size, self.cwd, self.ok = name, cmd, size, cwd, ok
        self.times, self.own_rss, self.rss, self.cpu = [], [], [], []
        self.out = None

    def once(self, work, record=True):
        self.out = os.path.join(work, self.name + ".out")
        seconds, own_rss, rss, cpu = run(self.cmd, self.out, self.cwd, self.ok)
        if record:
            self.times.append(seconds)
            self.own_rss.append(own_rss)
            self.rss.append(rss)
            self.cpu.append(cpu)
        print(f"  {self.name}: {seconds:.2f} s", file=sys.stderr)
        return seconds

    def median(self):
        return statistics.median(self.times)

    def mbps(self):
        return self.size / MB / self.median()


def rounds(benches, runs, work, warm=True):
    """Runs every bench once per round, `runs` rounds, rotating who goes first, so the runs of one
    round share the machine's load; ratio(a, b) then pairs a round's times."""
    if warm:
        for b in benches:
            b.once(work, record=False)
    for i in range(runs):
        k = i % len(benches)
        for b in benches[k:] + benches[:k]:
            b.once(work)


def ratio(slow, fast):
    """Median over rounds of slow's time / fast's time: fast's speed as a multiple of slow's."""
    return statistics.median(s / f for s, f in zip(slow.times, fast.times))


def sigil_findings(path):
    text = open(path).read()
    try:
        return json.loads(text)["findings"]
    except (ValueError, KeyError) as e:
        raise SystemExit(f"sigil output in {path} is not the expected JSON: {e}")


def recall(manifest, findings, file_of, commit_of=None):
    """(found, found with the planted rule id): a planted secret counts as found when a finding
    names its file (and commit) and a line inside the planted block."""
    index = {}
    for f in findings:
        index.setdefault(file_of(f), []).append(f)
    found = rule_ok = 0
    for entry in manifest:
        hits = [f for f in index.get(entry["file"], [])
                if entry["line"] <= int(f.get("line", 0)) < entry["line"] + entry["lines"]
                and (commit_of is None or commit_of(f, entry["commit"]))]
        found += bool(hits)
        rule_ok += any(f.get("rule") == entry["rule"] for f in hits)
    return found, rule_ok


def rg_count(path):
    """Sum of an `rg --count-matches` output (path:count lines, or a bare count from stdin)."""
    total = 0
    for line in open(path):
        total += int(line.rsplit(":", 1)[-1])
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--ds-runs", type=int, default=3)
    p.add_argument("--sigil", required=True)
    p.add_argument("--baseline", help="an earlier sigil binary, timed on the tree in the same rounds")
    p.add_argument("--rg", default="rg")
    p.add_argument("--detect-secrets", required=True)
    p.add_argument("--cs-runs", type=int, default=3)
    p.add_argument("--credsweeper", help="required when --cs-runs is not 0")
    p.add_argument("--regex", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--history", required=True)
    p.add_argument("--sample", default="vapor", help="subdirectory of the tree given to detect-secrets and CredSweeper")
    p.add_argument("--work", required=True)
    p.add_argument("--report", required=True)
    args = p.parse_args()
    if args.cs_runs and not args.credsweeper:
        p.error("--credsweeper is required unless --cs-runs is 0")

    corpus, history = args.corpus, args.history
    stats = json.load(open(f"{corpus}/stats.json"))
    hstats = json.load(open(f"{history}/stats.json"))
    manifest = json.load(open(f"{corpus}/manifest.json"))
    hmanifest = json.load(open(f"{history}/manifest.json"))
    tree = f"{corpus}/tree"
    repo = f"{history}/repo.git"
    sample = f"{tree}/{args.sample}"
    sample_manifest = [e for e in manifest if e["file"].startswith(args.sample + "/")]
    sample_bytes = sum(size for _, size, is_text in walk(sample) if is_text)  # text bytes, as for the tree
    text = stats["text_bytes"]
    # rg reads what sigil --no-ignore reads: no ignore files, dotfiles too, binaries skipped (rg's
    # default), nothing over 10 MiB; -j2 is both cores; every match counted.
    rg_search = ["-j2", "--count-matches", "-f", args.regex]
    rg = [args.rg, "--no-ignore", "--hidden", "--max-filesize", "10M", *rg_search]

    # Tools, as the summary names them. Working directory: the corpus, so paths read tree/…
    rg_tree = Bench("rg-tree", rg + ["tree"], text, corpus)
    rg_floor = Bench("rg-floor", rg[:-2] + ["-F", "-e", "no such string 7f3a9c", "tree"], text, corpus)
    sigil_tree = Bench("sigil-tree", [args.sigil, "scan", "tree", "--no-ignore", "--format", "json"], text, corpus)
    ds = Bench("detect-secrets", [args.detect_secrets, "scan", "--all-files", args.sample], sample_bytes, tree)
    sigil_sample = Bench("sigil-sample", [args.sigil, "scan", args.sample, "--no-ignore", "--format", "json"],
                         sample_bytes, tree)
    # CredSweeper with its defaults (ML validation on) and both cores (--jobs 2, as rg -j2 and sigil);
    # its findings go to a JSON file of their own. sigil gets a Bench of its own for these rounds, so
    # each ratio pairs runs of one round.
    cs_json = os.path.join(args.work, "credsweeper.json")
    cs = Bench("credsweeper", [args.credsweeper or "credsweeper", "--path", args.sample, "--jobs", "2",
                               "--save-json", cs_json, "--no-stdout", "--log", "error"], sample_bytes, tree)
    sigil_sample_cs = Bench("sigil-sample-cs", sigil_sample.cmd, sample_bytes, tree)
    patch = hstats["patch_bytes"]
    rg_pipe = f"git --git-dir={shlex.quote(repo)} log -p --all | {shlex.join([args.rg, *rg_search])} || [ $? = 1 ]"
    rg_git = Bench("rg-history", rg_pipe, patch, history)
    sigil_git = Bench("sigil-history", [args.sigil, "scan", "--git", repo, "--format", "json"], patch, history)

    work = args.work
    load_before = os.getloadavg()[0]
    print(f"tree: {args.runs} round(s) of rg, sigil and rg's read floor…", file=sys.stderr)
    baseline = Bench("sigil-baseline-tree", [args.baseline, "scan", "tree", "--no-ignore", "--format", "json"], text,
                     corpus) if args.baseline else None
    rounds([rg_tree, sigil_tree, rg_floor] + ([baseline] if baseline else []), args.runs, work)
    print(f"history: {args.runs} round(s) of rg and sigil…", file=sys.stderr)
    rounds([rg_git, sigil_git], args.runs, work)
    if args.ds_runs:
        print(f"detect-secrets on tree/{args.sample}: {args.ds_runs} round(s) (no warm-up pass: the files are "
              "cached by the runs above, and one run takes a minute)…", file=sys.stderr)
        rounds([ds, sigil_sample], args.ds_runs, work, warm=False)
    if args.cs_runs:
        print(f"CredSweeper on tree/{args.sample}: {args.cs_runs} round(s) (no warm-up pass)…", file=sys.stderr)
        rounds([cs, sigil_sample_cs], args.cs_runs, work, warm=False)
    load_after = os.getloadavg()[0]

    # Recall on the planted secrets, from the last run of each tool.
    def tree_file(f, cwd=corpus, root=tree):
        """A finding's file relative to the tree, whether sigil names it from the working directory
        or from the scanned root (or absolutely)."""
        for base in (cwd, root):
            full = os.path.normpath(os.path.join(base, f.get("file", "")))
            if os.path.isfile(full):
                return os.path.relpath(full, tree)
        return f.get("file", "")

    tree_findings = sigil_findings(sigil_tree.out)
    found, rule_ok = recall(manifest, tree_findings, tree_file)
    git_findings = sigil_findings(sigil_git.out)
    hfound, hrule_ok = recall(hmanifest, git_findings, lambda f: f.get("file", ""),
                              lambda f, c: bool(f.get("commit")) and c.startswith(str(f["commit"])))

    def row(name, b, extra=""):
        cores = statistics.median(c / t for c, t in zip(b.cpu, b.times))
        own = "–" if isinstance(b.cmd, str) else f"{max(b.own_rss) / MB:,.0f}"  # a pipeline's own is bash's
        return (f"| {name} | {b.size / MB:,.1f} | {b.median():.2f} | {min(b.times):.2f} | {b.mbps():,.1f} "
                f"| {cores:.2f} | {own} | {max(b.rss) / MB:,.0f} | {extra} |")

    sigils = [sigil_tree, sigil_git] + ([sigil_sample] if args.ds_runs else []) + \
        ([sigil_sample_cs] if args.cs_runs else [])
    rss = max(max(b.own_rss) for b in sigils) / MB
    rss_children = max(max(b.rss) for b in sigils) / MB
    tree_ratio = ratio(rg_tree, sigil_tree)
    git_ratio = ratio(rg_git, sigil_git)
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731

    lines = [
        f"Sigil secret scanner, {time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores, "
        f"{args.runs} runs (detect-secrets {args.ds_runs}, CredSweeper {args.cs_runs}), medians; MB = 10^6 bytes; "
        f"load average {load_before:.1f} before, {load_after:.1f} after",
        f"tree: {stats['bytes'] / MB:,.1f} MB in {stats['files']:,} files from {stats['distinct_mirrors']} distinct "
        f"package mirrors" + (f", replicated x{stats['copies'] + 1}" if stats["copies"] else "")
        + f"; text (no NUL, <= 10 MiB) {text / MB:,.1f} MB in {stats['text_files']:,} files; "
        f"{len(manifest)} planted secrets",
        f"history: {hstats['commits']:,} commits, {len(hstats['refs'])} refs, "
        f"pack {hstats['pack_bytes'] / MB:,.1f} MB, "
        f"`git log -p --all` {patch / MB:,.1f} MB; {len(hmanifest)} planted secrets, each removed "
        f"within 40 commits",
        f"detect-secrets and CredSweeper sample: tree/{args.sample}, {sample_bytes / MB:,.1f} MB of text, "
        f"{len(sample_manifest)} planted",
        "",
        "| run | MB | median s | best s | MB/s (median) | CPU cores | peak RSS MB | with children | findings |",
        "|---|---|---|---|---|---|---|---|---|",
        row("rg, combined regex, tree", rg_tree, f"{rg_count(rg_tree.out):,} matches"),
        row("rg, literal that never matches (read floor)", rg_floor, ""),
        row("sigil scan, tree", sigil_tree, f"{len(tree_findings):,}; planted {found}/{len(manifest)} "
            f"({rule_ok} with the planted rule id)"),
    ]
    def sample_rows(name, tool, places, sigil_run, sigil_name):
        """A tool's row on the sample (places: its findings as file and line) and the row of sigil's
        runs in the same rounds, with how many planted secrets each found."""
        tool_found, _ = recall(sample_manifest, places, lambda f: f["file"])
        findings = sigil_findings(sigil_run.out)
        s_found, _ = recall(sample_manifest, findings, lambda f: tree_file(f, tree, sample))
        return [row(f"{name}, tree/{args.sample}", tool,
                    f"{len(places):,}; planted {tool_found}/{len(sample_manifest)}"),
                row(sigil_name, sigil_run, f"{len(findings):,}; planted {s_found}/{len(sample_manifest)}")]

    if args.ds_runs:
        ds_flat = [{"file": os.path.normpath(name), "line": r["line_number"]}
                   for name, rs in json.load(open(ds.out))["results"].items() for r in rs]
        lines += sample_rows("detect-secrets", ds, ds_flat, sigil_sample, f"sigil scan, tree/{args.sample}")
    if args.cs_runs:
        # One place per line CredSweeper names (a rule that pairs two lines names both).
        cs_flat = [{"file": os.path.normpath(place["path"]), "line": place["line_num"]}
                   for candidate in json.load(open(cs_json)) for place in candidate["line_data_list"]]
        lines += sample_rows("CredSweeper", cs, cs_flat, sigil_sample_cs,
                             f"sigil scan, tree/{args.sample} (CredSweeper's rounds)")
    lines += [
        row("git log -p --all | rg, history", rg_git, f"{rg_count(rg_git.out):,} matches (+, - and context lines)"),
        row("sigil scan --git, history", sigil_git, f"{len(git_findings):,}; planted {hfound}/{len(hmanifest)} "
            f"({hrule_ok} with the planted rule id)"),
        "",
        "Ratios are medians over rounds of per-round time ratios (the runs of a round back to back). "
        "CPU cores = (user + system time) / wall time. Peak RSS: the process itself (VmHWM); "
        "with children: ru_maxrss, the largest of it and the processes it waited for.",
        "",
        "| target | measured | result |",
        "|---|---|---|",
        f"| sigil >= 0.5 x rg on the tree | {tree_ratio:.2f} x | {met(tree_ratio >= 0.5)} |",
    ]
    if baseline:
        base_ratio = ratio(baseline, sigil_tree)
        lines += [f"| sigil >= 0.9 x the baseline binary on the tree (baseline {baseline.median():.2f} s median) "
                  f"| {base_ratio:.3f} x | {met(base_ratio >= 0.9)} |"]
    if args.ds_runs:
        ds_ratio = ratio(ds, sigil_sample)
        lines += [
            f"| sigil >= 50 x detect-secrets (same sample) | {ds_ratio:.1f} x | {met(ds_ratio >= 50)} |",
            f"| (sigil on the whole tree vs detect-secrets on the sample) | {sigil_tree.mbps() / ds.mbps():.1f} x | |",
        ]
    if args.cs_runs:
        lines += [
            f"| (sigil vs CredSweeper, same sample) | {ratio(cs, sigil_sample_cs):.1f} x | |",
            f"| (sigil on the whole tree vs CredSweeper on the sample) | {sigil_tree.mbps() / cs.mbps():.1f} x | |",
        ]
    lines += [
        f"| history >= 0.5 x `git log -p --all \\| rg` | {git_ratio:.2f} x | {met(git_ratio >= 0.5)} |",
        f"| sigil peak RSS <= 200 MB | {rss:,.0f} MB | {met(rss <= 200)} |",
        f"| (sigil's peak RSS counting its children, e.g. git log) | {rss_children:,.0f} MB | |",
        f"| (rg with the combined regex, as a fraction of its read floor) | {ratio(rg_floor, rg_tree):.2f} x | |",
    ]
    report = "\n".join(lines) + "\n"
    open(args.report, "w").write(report)
    print(report)


if __name__ == "__main__":
    main()
