"""Precision and recall of sigil scan, CredSweeper, detect-secrets (and gitleaks, where installed)
on the labelled corpus of Tests/SigilScannerTests/Corpus, per shape folder and overall.

  python3 quality.py DUMP --sigil BIN [--credsweeper BIN] [--detect-secrets BIN] [--gitleaks BIN]
                     --work DIR [--report FILE] [--details FILE]

DUMP is what CorpusDumpTests writes with SIGIL_CORPUS_DUMP=DUMP (bench/scan.sh makes it): the
rendered files in DUMP/tree and their labels in DUMP/labels.json ({path, line, lines, rule}: the
value starts on `line` and spans `lines` lines). Each tool scans DUMP/tree from inside it with its
defaults (sigil with --no-ignore, detect-secrets with --all-files: the tree is not a git checkout).

Scoring (the same for every tool, so sigil's generic row and the others compare):
- a tool's findings are reduced to distinct (file, line) places: one line reported under two of a
  tool's rules (CredSweeper reports a line as Key and as Secret) is one place;
- a label is found when a place lies on its span (its first to its last line), whatever rule the
  tool named: the other tools' rule names are not ours, so they are scored rule-agnostically;
- a place on no label's span is a false positive;
- precision = found labels / (found labels + false positives), recall = found labels / labels.
sigil is also scored rule-exact, as CorpusQualityTests does: each finding takes the first label not
yet taken with its rule id whose span holds its line; every other finding (a second finding on one
label, or a finding with another rule id) is a false positive.

Groups: each shape folder shapes/<shape>/ (issue 13's corpus), the files outside shapes/, and all.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

SHAPES = ["split-lines", "encoded", "command-lines", "inline-assignments", "urls", "misjudged-values",
          "token-formats", "placeholders"]
OTHER = "outside shapes/"
ALL = "all"


def group_of(path):
    parts = path.split("/")
    return f"shapes/{parts[1]}" if len(parts) > 2 and parts[0] == "shapes" else OTHER


def relative(path, tree):
    """A finding's file relative to the tree, whether the tool names it relative to the working
    directory (the tree), with a leading ./, or absolutely."""
    full = os.path.normpath(os.path.join(tree, path))
    return os.path.relpath(full, tree)


def version(binary, *argv):
    """The tool's own version line, or '?' when it will not say."""
    try:
        out = subprocess.run([binary, *argv], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def run(name, argv, tree, work, ok=(0, 1)):
    """Runs argv in the tree with stdout to WORK/name.out; returns (stdout path, seconds)."""
    out_path = os.path.join(work, name + ".out")
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.perf_counter()
        code = subprocess.run(argv, stdout=out, stderr=err, cwd=tree).returncode
        seconds = time.perf_counter() - start
    if code not in ok:
        sys.stderr.write(open(out_path + ".err", errors="replace").read()[-2000:])
        raise SystemExit(f"{name}: exit {code}: {' '.join(argv)}")
    return out_path, seconds


def resolve(binary):
    """The absolute path of a tool given by path or by name on PATH."""
    found = shutil.which(binary)
    if not found:
        raise SystemExit(f"{binary}: not found")
    return os.path.abspath(found)


# Each reader returns a list of (file relative to the tree, 1-based line, rule or None).

def sigil(binary, tree, work):
    out, seconds = run("sigil", [binary, "scan", ".", "--no-ignore", "--format", "json"], tree, work)
    try:
        findings = json.load(open(out))["findings"]
    except (ValueError, KeyError) as e:
        raise SystemExit(f"sigil output in {out} is not the expected JSON: {e}")
    return [(relative(f["file"], tree), int(f["line"]), f["rule"]) for f in findings], seconds


def credsweeper(binary, tree, work):
    report = os.path.join(work, "credsweeper.json")
    _, seconds = run("credsweeper", [binary, "--path", ".", "--save-json", report, "--no-stdout",
                                     "--log", "error"], tree, work)
    found = []
    for candidate in json.load(open(report)):
        for place in candidate["line_data_list"]:  # several for a rule that pairs lines
            found.append((relative(place["path"], tree), int(place["line_num"]), candidate["rule"]))
    return found, seconds


def detect_secrets(binary, tree, work):
    out, seconds = run("detect-secrets", [binary, "scan", "--all-files", "."], tree, work)
    results = json.load(open(out))["results"]
    return [(relative(name, tree), int(r["line_number"]), r["type"])
            for name, rs in results.items() for r in rs], seconds


def gitleaks(binary, tree, work):
    report = os.path.join(work, "gitleaks.json")
    _, seconds = run("gitleaks", [binary, "detect", "--no-git", "--source", ".", "--report-format", "json",
                                  "--report-path", report, "--exit-code", "0", "--no-banner"], tree, work)
    text = open(report).read().strip()
    return [(relative(f["File"], tree), int(f["StartLine"]), f.get("RuleID"))
            for f in (json.loads(text) if text else [])], seconds


class Score:
    def __init__(self):
        self.labels = self.found = self.false_positives = 0

    def precision(self):
        reported = self.found + self.false_positives
        return self.found / reported if reported else None

    def recall(self):
        return self.found / self.labels if self.labels else None

    def cell(self):
        p, r = self.precision(), self.recall()
        show = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
        return f"{show(p)} / {show(r)} ({self.false_positives} FP, {self.labels - self.found} missed)"


def score(labels, findings, exact):
    """Scores findings against labels per group; returns ({group: Score}, [false positive],
    [missed label]) as 'file:line rule' strings for the details file."""
    by_file = {}
    for i, label in enumerate(labels):
        by_file.setdefault(label["path"], []).append(i)
    groups = {}

    def at(path):
        for key in (group_of(path), ALL):
            groups.setdefault(key, Score())
        return groups[group_of(path)], groups[ALL]

    for label in labels:
        for s in at(label["path"]):
            s.labels += 1

    def covers(i, path, line):
        label = labels[i]
        return label["path"] == path and label["line"] <= line < label["line"] + label["lines"]

    found, false_positives = set(), []
    if exact:
        for path, line, rule in sorted(findings, key=lambda f: (f[0], f[1], f[2] or "")):
            hit = next((i for i in by_file.get(path, []) if i not in found and labels[i]["rule"] == rule
                        and covers(i, path, line)), None)
            if hit is None:
                false_positives.append((path, line, rule))
            else:
                found.add(hit)
    else:
        places = {}
        for path, line, rule in findings:
            places.setdefault((path, line), set()).add(rule or "?")
        for (path, line), rules in sorted(places.items()):
            hits = [i for i in by_file.get(path, []) if covers(i, path, line)]
            if hits:
                found.update(hits)
            else:
                false_positives.append((path, line, "/".join(sorted(rules))))
    for i in found:
        for s in at(labels[i]["path"]):
            s.found += 1
    for path, _, _ in false_positives:
        for s in at(path):
            s.false_positives += 1
    missed = [labels[i] for i in range(len(labels)) if i not in found]
    return (groups, [f"{p}:{n} {r}" for p, n, r in false_positives],
            [f"{m['path']}:{m['line']} {m['rule']}" for m in missed])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dump")
    p.add_argument("--sigil", required=True)
    p.add_argument("--credsweeper")
    p.add_argument("--detect-secrets")
    p.add_argument("--gitleaks")
    p.add_argument("--work", required=True)
    p.add_argument("--report", help="append the tables to this file")
    p.add_argument("--details", help="write every false positive and miss to this file")
    args = p.parse_args()

    # Absolute paths: the tools run inside the tree.
    tree = os.path.abspath(os.path.join(args.dump, "tree"))
    document = json.load(open(os.path.join(args.dump, "labels.json")))
    labels, files = document["labels"], document["files"]
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)

    tools = [("sigil scan", sigil, resolve(args.sigil), "--version")]
    notes = []
    for name, reader, binary, ask in [("CredSweeper", credsweeper, args.credsweeper, "--version"),
                                      ("detect-secrets", detect_secrets, args.detect_secrets, "--version"),
                                      ("gitleaks", gitleaks, args.gitleaks, "version")]:
        if binary:
            tools.append((name, reader, resolve(binary), ask))
        else:
            notes.append(f"{name} not run (not installed here)")

    columns, details, versions = [], [], {}  # columns: (heading, groups, findings, seconds)
    for name, reader, binary, ask in tools:
        print(f"quality: {name} on the labelled corpus…", file=sys.stderr)
        versions[name] = version(binary, ask)
        findings, seconds = reader(binary, tree, args.work)
        runs = [("rule-exact", True), ("any rule", False)] if reader is sigil else [("any rule", False)]
        for how, exact in runs:
            groups, false_positives, missed = score(labels, findings, exact)
            heading = f"{name} ({how})" if reader is sigil else name
            columns.append((heading, groups, findings, seconds))
            details += [f"## {heading}: {len(false_positives)} false positives, {len(missed)} missed", ""]
            details += [f"false positive: {line}" for line in false_positives]
            details += [f"missed: {line}" for line in missed] + [""]

    present = {group_of(path) for path in files}
    order = [f"shapes/{s}" for s in SHAPES if f"shapes/{s}" in present]
    order += sorted(g for g in present if g.startswith("shapes/") and g not in order)
    order += [OTHER] if OTHER in present else []
    order += [ALL]
    count_files = lambda g: sum(1 for path in files if g == ALL or group_of(path) == g)  # noqa: E731
    count_labels = lambda g: sum(1 for label in labels if g == ALL or group_of(label["path"]) == g)  # noqa: E731

    lines = [
        f"Labelled corpus (Tests/SigilScannerTests/Corpus, seed {document['seed']}): {len(files)} files, "
        f"{len(labels)} labelled secrets. Cells: precision / recall (false positives, labels missed). "
        "A finding is a hit when its line lies on a labelled value's lines, whatever its rule: the other tools' "
        "rule names are not ours, so every column but sigil's \"rule-exact\" one is scored rule-agnostically; "
        "\"rule-exact\" counts a finding only with the label's rule id, as CorpusQualityTests does."
        + (" " + "; ".join(notes) + "." if notes else ""),
        "",
        "| group | files | labels | " + " | ".join(c[0] for c in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for g in order:
        cells = [c[1].get(g, Score()).cell() for c in columns]
        lines.append(f"| {g} | {count_files(g)} | {count_labels(g)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| tool | version | findings | distinct lines | seconds (one run) |",
        "|---|---|---|---|---|",
    ]
    seen = set()
    for heading, _, findings, seconds in columns:
        tool = heading.split(" (")[0]
        if tool in seen:
            continue
        seen.add(tool)
        places = len({(f[0], f[1]) for f in findings})
        lines.append(f"| {tool} | {versions[tool]} | {len(findings):,} | {places:,} | {seconds:.2f} |")
    table = "\n".join(lines) + "\n"
    if args.report:
        with open(args.report, "a") as out:
            out.write("\n" + table)
    if args.details:
        with open(args.details, "w") as out:
            out.write("\n".join(details) + "\n")
    print(table)


if __name__ == "__main__":
    main()
