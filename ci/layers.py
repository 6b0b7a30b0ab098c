#!/usr/bin/env python3
"""`make lint`: runner/ is layered (runner/README.md).  Fails on
  - an include of a runner header that does not name its folder,
  - an upward include (a lower layer including a higher one),
  - a cycle between modules (a module is NAME.c with NAME.h),
  - a command line below cli/ (the library never sees argv): outside
    runner/cli/, no `#include <getopt.h>`, no function taking a parameter
    `argc` (`int argc`, `size_t argc`... in any parameter list: definitions,
    prototypes, function pointers): our own command line comes as a count
    and a vector, while a child's command to exec is a NULL-terminated
    `argv` alone, which stays allowed (`spawn(char *const argv[])`); and no
    call of `exit()` (nor `quick_exit()`); `_exit()` only in a file that
    forks or clones (a child must leave with `_exit`: `exit` would run the
    parent's atexit handlers and flush its stdio buffers a second time)
    or named in EXIT_ALLOWED with its reason.  Comments and string
    literals are not looked at.
Prints the layer map with -v; --self-test plants one violation of each
kind in a scratch tree and fails unless every one is reported."""
import os
import re
import shutil
import sys
import tempfile

LAYERS = ["base", "artifacts", "host", "sandbox", "image", "bench", "history", "pipeline", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# The command line belongs to cli/ (runner/README.md).
GETOPT = re.compile(r'^\s*#\s*include\s*<getopt\.h>', re.M)
# a parameter (after "(" or ",", before "," or ")") named argc, of any
# integer type: the count that comes with a command line to parse
ARGV_PARAM = re.compile(r'[(,]\s*(?:const\s+)?(?:unsigned\s+|signed\s+)?'
                        r'(?:int|long|size_t|ssize_t|unsigned)\s+(?:const\s+)?argc\s*[,)]')
EXIT_CALL = re.compile(r'(?<![\w.>])(?:quick_)?exit\s*\(')
UNDERSCORE_EXIT = re.compile(r'(?<![\w.>])_exit\s*\(')
FORKS = re.compile(r'(?<![\w.>])(?:fork|vfork|clone|clone3)\s*\(|\bSYS_clone3?\b')
EXIT_ALLOWED = {
    # xmalloc and friends end the process when memory runs out, from
    # whichever thread asked: no atexit handler may run then
    "base/util.c": "out_of_memory()",
}


def code_only(text):
    """The text with comments and string/char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def argv_errors(root, mod, path):
    """No command line below cli/ (see the docstring)."""
    if mod.split("/")[0] == "cli":
        return []
    raw = open(path).read()
    code = code_only(raw)
    rel = os.path.relpath(path, root)
    errors = []
    for m in GETOPT.finditer(raw):
        errors.append(f"{path}:{line_of(raw, m.start())}: includes <getopt.h>: "
                      "parsing a command line belongs to runner/cli/")
    for m in ARGV_PARAM.finditer(code):
        errors.append(f"{path}:{line_of(code, m.start())}: a parameter named argc: "
                      "below runner/cli/ functions take a parsed request, not a command line")
    for m in EXIT_CALL.finditer(code):
        errors.append(f"{path}:{line_of(code, m.start())}: calls exit(): below runner/cli/ "
                      "return an error; the command decides the exit code")
    if not FORKS.search(code) and rel not in EXIT_ALLOWED:
        for m in UNDERSCORE_EXIT.finditer(code):
            errors.append(f"{path}:{line_of(code, m.start())}: calls _exit() in a file that "
                          "neither forks nor clones (a child's exit); add it to EXIT_ALLOWED "
                          "in ci/layers.py with the reason if it must")
    return errors


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
            errors += argv_errors(root, mod, path)
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


# One planted violation per rule (--self-test): file -> (text, expected
# error fragment); the clean files must pass.
PLANTS = {
    "base/clean.c": ('#include "base/clean.h"\n/* exit(1) in a comment, "exit(2)" in a string */\n'
                     'static const char *s = "int argc, char **argv) exit(";\n'
                     'int f(struct x *spec) { return spec->argv != 0; }\n', None),
    "base/clean.h": ("struct x { char **argv; int argc; };\n", None),
    "base/getopt_user.c": ("#include <getopt.h>\n", "includes <getopt.h>"),
    "base/argv_user.c": ("int parse(int argc, char **argv);\n", "a parameter named argc"),
    "base/argv_array.c": ("int parse(size_t argc, char *argv[]) { return 0; }\n",
                          "a parameter named argc"),
    "base/argv_hook.c": ("struct h { int (*fn)(void *x, int argc, char **argv); };\n",
                         "a parameter named argc"),
    "base/spawn.c": ("int spawn(const char *path, char *const argv[]) { return 0; }\n", None),
    "sandbox/exits.c": ("void f(void) { exit(1); }\n", "calls exit()"),
    "sandbox/child_exit.c": ("void f(void) { if (fork() == 0) _exit(0); }\n", None),
    "host/stray_exit.c": ("void f(void) { _exit(0); }\n", "calls _exit() in a file that"),
    "host/up.c": ('#include "cli/top.h"\n', "cli is above host"),
    "cli/top.h": ("int top(int argc, char **argv);\n", None),
    "cli/top.c": ("#include <getopt.h>\nint top(int argc, char **argv) { exit(0); }\n", None),
}


def self_test():
    scratch = tempfile.mkdtemp(prefix="layers-self-test.")
    try:
        for name, (text, _) in PLANTS.items():
            os.makedirs(os.path.join(scratch, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(scratch, name), "w") as f:
                f.write(text)
        errors, _ = check(scratch)
    finally:
        shutil.rmtree(scratch)
    failed = []
    for name, (_, expect) in sorted(PLANTS.items()):
        hits = [e for e in errors if f"/{name}:" in e or f"/{name}: " in e]
        if expect is None and hits:
            failed.append(f"{name}: clean, yet reported: {hits}")
        elif expect is not None and not any(expect in e for e in hits):
            failed.append(f"{name}: planted '{expect}', not reported (got {hits})")
    for f in failed:
        print("lint: self-test: " + f)
    if failed:
        sys.exit(1)
    print(f"lint: layers self-test: {sum(1 for v in PLANTS.values() if v[1])} planted "
          "violations reported, clean files pass")


def main():
    if "--self-test" in sys.argv:
        self_test()
        return
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
    print(f"lint: layers clean ({len(edges)} modules, {len(LAYERS)} layers, no upward include, "
          "no cycle, no command line below cli/)")


if __name__ == "__main__":
    main()
