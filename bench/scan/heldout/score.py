"""Precision and recall of sigil scan, CredSweeper and detect-secrets on the held-out set that
make.py writes, per shape and overall, as a Markdown table.

  python3 score.py DIR --sigil BIN [--credsweeper BIN] [--detect-secrets BIN] --work DIR [--report FILE]

Scoring is by line and rule-agnostic for every tool (the set labels lines, not rule ids): a finding
on a labelled line finds that label; a finding on any other line is a false positive, counted in
the shape of the hard negative on that line (or only overall when the line is no labelled negative).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quality  # noqa: E402  (the tool readers and runners of the labelled-corpus bench)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--sigil", required=True)
    p.add_argument("--credsweeper")
    p.add_argument("--detect-secrets")
    p.add_argument("--work", required=True)
    p.add_argument("--report")
    args = p.parse_args()

    tree = os.path.join(args.dir, "tree")
    document = json.load(open(os.path.join(args.dir, "labels.json")))
    labels, negatives = document["labels"], document["negatives"]
    shapes = [shape for shape in quality.SHAPES if any(label["shape"] == shape for label in labels)]
    negative_shape = {(n["path"], n["line"]): n["shape"] for n in negatives}
    labelled = {(label["path"], label["line"]) for label in labels}

    tools = [("sigil scan", quality.sigil, args.sigil), ("CredSweeper", quality.credsweeper, args.credsweeper),
             ("detect-secrets", quality.detect_secrets, args.detect_secrets)]
    columns, missed = [], {}
    for name, reader, binary in tools:
        if not binary:
            continue
        work = os.path.join(args.work, name.split()[0])
        os.makedirs(work, exist_ok=True)
        findings, _ = reader(quality.resolve(binary), tree, work)
        places = {(path, line) for path, line, _ in findings}
        cells = {}
        for shape in shapes + ["all"]:
            in_shape = [label for label in labels if shape == "all" or label["shape"] == shape]
            found = sum((label["path"], label["line"]) in places for label in in_shape)
            false = sum(1 for place in places - labelled if shape == "all" or negative_shape.get(place) == shape)
            precision = f"{found / (found + false):.3f}" if found + false else "–"
            cells[shape] = f"{precision} / {found / len(in_shape):.3f} ({false} FP, {len(in_shape) - found} missed)"
        columns.append((name, cells))
        missed[name] = [f"{label['path']}:{label['line']} {label['shape']}: {label['what']}"
                        for label in labels if (label["path"], label["line"]) not in places]

    lines = [f"Held-out set (bench/scan/heldout, seed {document.get('seed')}): {len(labels)} secrets, "
             f"{len(negatives)} hard negatives. Cells: precision / recall, by line, whatever the rule.", "",
             "| shape | labels | " + " | ".join(name for name, _ in columns) + " |",
             "|---|---:|" + "---|" * len(columns)]
    for shape in shapes + ["all"]:
        count = sum(1 for label in labels if shape == "all" or label["shape"] == shape)
        lines.append(f"| {shape} | {count} | " + " | ".join(cells[shape] for _, cells in columns) + " |")
    lines += ["", "sigil's misses: " + ("; ".join(missed["sigil scan"]) or "none"), ""]
    text = "\n".join(lines)
    print(text)
    if args.report:
        with open(args.report, "a") as out:
            out.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
