#!/usr/bin/env python3
"""Measures the corpus (tests/corpus/corpus.tsv): for each document, does it generate (and with how
many warnings), does the generated crate build without warnings, is it clippy-clean.

Each document is generated as its own crate (`asyncapi-nats gen`), all crates go into one temporary
workspace sharing this repository's target dir, and one `cargo clippy` run is parsed per package
(rustc warnings = "build", clippy:: lints = "clippy"). Prints a Markdown table. Not part of CI (CI
compiles the corpus as modules of tests/corpus-build); used for the figures in issue notes.

usage: scripts/corpus-table.py [GENERATOR_BINARY]   (default: target/debug/asyncapi-nats)
"""
import json, os, shlex, shutil, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target/debug/asyncapi-nats"))
corpus = os.path.join(root, "tests/corpus")
work = tempfile.mkdtemp(prefix="corpus-table-")
rows = []
crate = lambda ident: "c-" + ident.replace(".", "-")
for line in open(os.path.join(corpus, "corpus.tsv")):
    if line.startswith("#") or not line.strip():
        continue
    parts = line.rstrip("\n").split("\t")
    ident, doc, flags = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    flags = [f.replace("{corpus}", corpus) for f in shlex.split(flags)]
    out = os.path.join(work, ident)
    p = subprocess.run([binary, "gen", os.path.join(corpus, doc), "-o", out, "--crate-name", crate(ident)] + flags,
                       capture_output=True, text=True, cwd=corpus)
    warnings = sum(1 for l in p.stderr.splitlines() if l.startswith("warning:"))
    first_error = next((l for l in p.stderr.splitlines() if l.startswith("error:")), "")
    rows.append({"id": ident, "gen": p.returncode == 0, "warnings": warnings, "error": first_error[7:110]})
members = [r["id"] for r in rows if r["gen"]]
with open(os.path.join(work, "Cargo.toml"), "w") as f:
    f.write("[workspace]\nresolver = \"3\"\nmembers = [%s]\n" % ", ".join('"%s"' % m for m in members))
shutil.copy(os.path.join(root, "Cargo.lock"), os.path.join(work, "Cargo.lock"))
env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(root, "target/corpus-table"))
p = subprocess.run(["cargo", "clippy", "--workspace", "--keep-going", "--message-format=json", "--quiet"],
                   cwd=work, capture_output=True, text=True, env=env)
if p.returncode != 0 and not p.stdout:
    sys.stderr.write(p.stderr)
by_pkg = {}
for line in p.stdout.splitlines():
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") != "compiler-message":
        continue
    pkg = msg["target"]["name"].replace("_", "-")
    m = msg["message"]
    if m["level"] not in ("warning", "error") or m["message"].startswith(("aborting", "could not compile")):
        continue
    if m["message"].endswith("warnings emitted") or m["message"].endswith("warning emitted"):
        continue
    code = (m.get("code") or {}).get("code") or ""
    kind = "clippy" if code.startswith("clippy::") else "build"
    by_pkg.setdefault(pkg, {"build": [], "clippy": []})[kind].append(code or m["message"][:60])
ok = lambda b: "yes" if b else "**no**"
print("| document | generate | warnings | build -D warnings | clippy -D warnings |")
print("|---|---|---|---|---|")
totals = [0, 0, 0, 0]
for r in rows:
    d = by_pkg.get(crate(r["id"]), {"build": [], "clippy": []})
    if r["gen"]:
        b, c = not d["build"], not d["clippy"] and not d["build"]
        note = lambda xs: "" if not xs else " (" + ", ".join(sorted(set(xs)))[:80] + ")"
        print("| %s | yes | %d | %s%s | %s%s |" % (r["id"], r["warnings"], ok(b), note(d["build"]), ok(c), note(d["clippy"])))
        totals[0] += 1; totals[1] += b; totals[2] += c; totals[3] += b and c and r["warnings"] == 0
    else:
        print("| %s | **no**: %s | | | |" % (r["id"], r["error"].replace("|", "\\|")))
print("\n%d documents: %d generate, %d build with -D warnings, %d clippy-clean, %d all three without warnings"
      % (len(rows), totals[0], totals[1], totals[2], totals[3]))
if os.environ.get("KEEP") is None:
    shutil.rmtree(work)
