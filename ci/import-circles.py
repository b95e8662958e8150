#!/usr/bin/env python3
"""Finds import circles between the files of each crate: file A depends on file B when A
names an item of B's module (`use crate::a::b::X`, `super::x::Y`, `crate::a::b::f()` in
code). A module declaring its children (`mod x;`) is not a dependency. Test-only files
(tests.rs), `#[cfg(test)]` imports and tests blocks, and re-exports (`pub use child::X`, a
facade like `mod child;`) are skipped; `$crate::` in macros is the macro's caller's. Prints each circle and exits 1
when there is one.

    ci/import-circles.py [CRATE_DIR ...]     (default: every crate of the workspace)
"""
import os
import re
import sys

CRATES = ["config", "dataplane", "control", "alg", "perf", "."]


def strip(text):
    # Drop comments, the cfg(test) tests module (to the end of the file, where it is), items
    # under #[cfg(test)], and re-exports (`pub use child::X`: a facade, like `mod child;`).
    text = re.sub(r"(?m)//.*$", "", text)
    text = re.sub(r"#\[cfg\(test\)\]\s*(pub(\(crate\))? )?use [^;]*;", "", text)
    text = re.sub(r"(?m)^\s*pub(\([a-z]+\))? use [^;]*;", "", text)
    m = re.search(r"#\[cfg\(test\)\]\s*(pub(\(crate\))? )?mod tests\s*\{", text)
    if m:
        text = text[: m.start()]
    return text


def module_files(src):
    """Module path (tuple) -> file, for a crate's src directory."""
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if not n.endswith(".rs"):
                continue
            p = os.path.join(root, n)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            files[tuple(rel)] = p
    return files


def resolve(files, path):
    """The file of the longest module prefix of `path` (a tuple of names)."""
    for k in range(len(path), -1, -1):
        if tuple(path[:k]) in files:
            return files[tuple(path[:k])]
    return None


def deps(files, mod, text):
    out = set()
    for m in re.finditer(r"(?<!\$)\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
        head, rest = m.group(1), m.group(2).split("::")[1:]
        if head == "crate":
            base = []
        elif head == "self":
            base = list(mod)
        else:
            base = list(mod[:-1])
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        f = resolve(files, tuple(base + rest))
        if f:
            out.add(f)
    # `use crate::a::{b, c::d}` groups: each name of the group.
    for m in re.finditer(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\};", text, re.S):
        head, pre = m.group(1), m.group(2).split("::")[1:]
        base = [] if head == "crate" else list(mod[:-1])
        for item in re.split(r",", m.group(3)):
            names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", item.split(" as ")[0])
            if names:
                f = resolve(files, tuple(base + pre + names[:2]))
                if f:
                    out.add(f)
    # Child modules named relative to this one (`ftp::Ftp`, `use ftp::Ftp`, and the group
    # form `use ftp::{Ftp, X}`, which the first pattern does not see).
    for child in {k[len(mod)] for k in files if len(k) == len(mod) + 1 and k[: len(mod)] == mod}:
        for m in re.finditer(r"(?<![:\w])" + re.escape(child) + r"((?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
            rest = m.group(1).split("::")[1:]
            f = resolve(files, tuple(list(mod) + [child] + rest))
            if f:
                out.add(f)
        for m in re.finditer(r"(?<![:\w])" + re.escape(child) + r"((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\};", text, re.S):
            pre = m.group(1).split("::")[1:]
            for item in m.group(2).split(","):
                names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", item.split(" as ")[0])
                if names:
                    f = resolve(files, tuple(list(mod) + [child] + pre + names[:2]))
                    if f:
                        out.add(f)
    return out


def circles(crate):
    src = os.path.join(crate, "src")
    files = module_files(src)
    graph = {}
    for mod, f in files.items():
        if os.path.basename(f) == "tests.rs":
            continue
        text = strip(open(f, encoding="utf-8").read())
        graph[f] = {d for d in deps(files, mod, text) if d != f and os.path.basename(d) != "tests.rs"}
    found, seen = [], set()
    for a in graph:
        for b in graph[a]:
            if a in graph.get(b, ()) and (b, a) not in seen:
                seen.add((a, b))
                found.append((a, b))
    # Longer circles: a path back to the start.
    for start in graph:
        stack, on = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for n in graph.get(node, ()):
                if n == start and len(path) > 2:
                    key = tuple(sorted(path))
                    if key not in on:
                        on.add(key)
                        found.append(tuple(path))
                elif n not in path and len(path) < 6:
                    stack.append((n, path + [n]))
    return found


def main():
    crates = sys.argv[1:] or CRATES
    bad = 0
    for c in crates:
        for cyc in circles(c):
            print("import circle: " + " -> ".join(cyc + (cyc[0],)))
            bad += 1
    if bad == 0:
        print("import circles: none between the files of " + ", ".join(crates))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
