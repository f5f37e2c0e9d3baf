#!/usr/bin/env python3
"""Lists the functions of src/ longer than a limit (default 100 lines), longest first.

    python3 scripts/long_functions.py [LIMIT]

Unit tests are left out: a trailing `#[cfg(test)]` module and files named `tests.rs` or under a
`tests/` folder. Counting is by brace matching on the text (strings and `//` comments masked),
which clippy cannot do: its `too_many_lines` counts differently and cannot skip test modules.
"""
import os
import re
import sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 100
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def code_lines(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]":
            return lines[:i]
    return lines


def masked(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split("//")[0]


def long_functions(path):
    lines = code_lines(path)
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            text = masked(lines[j])
            for c in text:
                if c == "{":
                    depth, started = depth + 1, True
                elif c == "}":
                    depth -= 1
            if (started and depth <= 0) or (not started and text.rstrip().endswith(";")):
                break
            j += 1
        n = j - i + 1
        if n > LIMIT:
            yield n, i + 1, m.group(6)


found = []
for folder, dirs, files in os.walk(ROOT):
    dirs[:] = [d for d in dirs if d != "tests"]
    for f in files:
        if f.endswith(".rs") and f != "tests.rs":
            p = os.path.join(folder, f)
            for n, line, name in long_functions(p):
                found.append((n, os.path.relpath(p, os.path.join(ROOT, "..")), line, name))
for n, p, line, name in sorted(found, reverse=True):
    print(f"{n:5d} {p}:{line} {name}")
print(f"{len(found)} functions over {LIMIT} lines")
