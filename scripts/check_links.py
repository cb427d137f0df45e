#!/usr/bin/env python3
"""Check the links of README.md and docs/*.md: every relative link names a file that exists, and
every #anchor names a heading of its page (GitHub's slug rules). External (http) links are not
fetched. Last line: "links: P passed, F failed" (one per link); exit 1 on any broken link.

usage: check_links.py [ROOT]
"""
import pathlib
import re
import sys

LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```")


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)  # GitHub drops punctuation, keeps word chars, '-' and spaces
    return s.replace(" ", "-")


def anchors(path):
    out, fenced = set(), False
    for line in path.read_text().splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            out.add(slug(line.lstrip("#")))
    return out


def links(path):
    fenced = False
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            for m in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
                yield n, m.group(1)


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    ok = bad = 0
    for page in pages:
        for n, target in links(page):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: not fetched
            file, _, frag = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            err = None
            if not dest.exists():
                err = "no such file"
            elif frag and dest.suffix == ".md" and frag not in anchors(dest):
                err = f"no heading #{frag}"
            if err:
                bad += 1
                print(f"{page.relative_to(root)}:{n}: {target}: {err}")
            else:
                ok += 1
    print(f"links: {ok} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
