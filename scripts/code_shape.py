#!/usr/bin/env python3
"""The longest functions and the longest files of src/ (tests excluded), for reviews.

  scripts/code_shape.py [--functions N] [--over LINES]

A function is a definition that starts at column 0 (the tree is clang-formatted) and ends at the
matching "}" at column 0; lambdas count toward the function that holds them.
"""
import argparse
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = re.compile(r'^[A-Za-z_][^;=]*\)\s*(const\s*)?(override\s*)?(noexcept\s*)?\{\s*$')


def sources():
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in sorted(files):
            if name.endswith(".cc") and not name.endswith("_test.cc"):
                yield os.path.join(dirpath, name)


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        # A signature may span lines: join until "{" at the end of a line.
        if re.match(r'^[A-Za-z_]', line) and not line.startswith(("namespace", "using", "struct", "class", "enum",
                                                                    "template", "static_assert", "extern")):
            j, sig = i, line
            while not sig.rstrip().endswith(("{", ";", "}")) and j + 1 < len(lines) and j - i < 6:
                j += 1
                sig += " " + lines[j].strip()
            if START.match(sig) and "(" in sig:
                end = j + 1
                while end < len(lines) and not lines[end].startswith("}"):
                    end += 1
                name = sig.split("(")[0].split()[-1]
                yield name, i + 1, end - i + 1
                i = end
        i += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--functions", type=int, default=15)
    ap.add_argument("--over", type=int, default=600)
    a = ap.parse_args()
    found = []
    for path in sources():
        rel = os.path.relpath(path, ROOT)
        for name, line, length in functions(path):
            found.append((length, f"{rel}:{line}", name))
    found.sort(reverse=True)
    print(f"longest functions (of {len(found)}):")
    for length, where, name in found[:a.functions]:
        print(f"  {length:5d}  {name:40s} {where}")
    print(f"files over {a.over} lines:")
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in sorted(files):
            if name.endswith((".cc", ".h")) and not name.endswith("_test.cc"):
                path = os.path.join(dirpath, name)
                n = sum(1 for _ in open(path, encoding="utf-8", errors="replace"))
                if n > a.over:
                    print(f"  {n:5d}  {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
