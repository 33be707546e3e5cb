#!/usr/bin/env python3
"""The include graph between folders of src/ and include/, its cycles, and the layering rules.

  scripts/include_graph.py            print every folder edge, then the cycles and rule breaks
  scripts/include_graph.py --check    the same; exit 1 when there is a cycle or a rule is broken
                                      (a ctest, label unit)

A folder is the directory of a file under src/ or include/ (src/ctl/dr, include/techmoda). An edge
A -> B means some file in A includes a project header in B. Rules:
  - no cycle between folders;
  - nothing under src/ctl includes src/catalogd (catalogctl shares contracts through include/techmoda);
  - src/common and include/techmoda include nothing of src/catalogd or src/ctl.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    return os.path.dirname(os.path.relpath(path, ROOT))


def header_folder(include):
    # "ctl/dr/dr.h" lives in src/ctl/dr; "techmoda/store.h" in include/techmoda.
    for base in ("src", "include"):
        candidate = os.path.join(ROOT, base, include)
        if os.path.exists(candidate):
            return folder_of(candidate)
    return None


def edges():
    out = {}
    for base in ("src", "include"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, base)):
            for name in files:
                if not name.endswith((".h", ".cc")) or name.endswith("_test.cc"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                src = folder_of(path)
                for inc in INCLUDE.findall(text):
                    dst = header_folder(inc)
                    if dst and dst != src:
                        out.setdefault(src, set()).add(dst)
    return out


def cycles(graph):
    """Strongly connected components with more than one folder (Tarjan)."""
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return result


def rule_breaks(graph):
    breaks = []
    for src, dsts in sorted(graph.items()):
        for dst in sorted(dsts):
            if src.startswith("src/ctl") and dst.startswith("src/catalogd"):
                breaks.append(f"{src} -> {dst}: catalogctl must not include catalogd's internals")
            if (src.startswith("src/common") or src.startswith("include")) and (
                    dst.startswith("src/catalogd") or dst.startswith("src/ctl")):
                breaks.append(f"{src} -> {dst}: the common layer must not include a program's code")
    return breaks


def main():
    graph = edges()
    for src in sorted(graph):
        print(f"{src} -> {', '.join(sorted(graph[src]))}")
    found = cycles(graph)
    for comp in found:
        print("CYCLE: " + " <-> ".join(comp))
    broken = rule_breaks(graph)
    for b in broken:
        print("RULE: " + b)
    print(f"{len(graph)} folders with edges, {len(found)} cycles, {len(broken)} rule breaks")
    if "--check" in sys.argv and (found or broken):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
