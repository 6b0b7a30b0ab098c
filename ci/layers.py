#!/usr/bin/env python3
"""`make lint`: runner/ is layered (runner/README.md).  Fails on
  - an include of a runner header that does not name its folder,
  - an upward include (a lower layer including a higher one),
  - a cycle between modules (a module is NAME.c with NAME.h).
Prints the layer map with -v."""
import os
import re
import sys

LAYERS = ["base", "artifacts", "host", "sandbox", "image", "bench", "history", "pipeline", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules(root):
    mods = {}   # "folder/name" -> [files]
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        for f in sorted(os.listdir(path)):
            if f.endswith((".c", ".h")):
                mods.setdefault(f"{folder}/{f[:-2]}", []).append(os.path.join(path, f))
    return mods


def check(root):
    errors = []
    mods = modules(root)
    known = {m + ".h" for m in mods}
    basenames = {m.split("/")[1] + ".h": m for m in mods}
    edges = {m: set() for m in mods}
    stray = [f for f in os.listdir(root) if f.endswith((".c", ".h"))]
    for f in stray:
        errors.append(f"runner/{f}: every module belongs in a layer folder")
    for mod, files in mods.items():
        folder = mod.split("/")[0]
        if folder not in RANK:
            errors.append(f"runner/{folder}/: not a known layer (ci/layers.py LAYERS)")
            continue
        for path in files:
            text = open(path).read()
            for inc in INCLUDE.findall(text):
                if inc in known:
                    target = inc[:-2]
                    tfolder = target.split("/")[0]
                    if RANK.get(tfolder, 99) > RANK[folder]:
                        errors.append(f"{path}: includes {inc}: {tfolder} is above {folder}")
                    if target != mod:
                        edges[mod].add(target)
                elif inc in basenames:
                    errors.append(f'{path}: #include "{inc}" must name its folder '
                                  f'("{basenames[inc]}.h")')
    errors += cycles(edges)
    return errors, edges


def cycles(edges):
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                loop = stack[stack.index(t):] + [t]
                found.append("include cycle: " + " -> ".join(loop))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runner")
    errors, edges = check(root)
    if "-v" in sys.argv:
        for layer in LAYERS:
            mods = sorted(m.split("/")[1] for m in edges if m.startswith(layer + "/"))
            print(f"{layer:10} {' '.join(mods)}")
    for e in errors:
        print("lint: " + e)
    if errors:
        sys.exit(1)
    print(f"lint: layers clean ({len(edges)} modules, {len(LAYERS)} layers, no upward include, no cycle)")


if __name__ == "__main__":
    main()
