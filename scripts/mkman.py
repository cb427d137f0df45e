#!/usr/bin/env python3
"""Generate the man pages from docs/reference.md, the one source of the C reference.

usage: mkman.py REFERENCE.md OUTDIR VERSION     write the pages (flat) into OUTDIR
       mkman.py --list REFERENCE.md             print their file names (meson reads them)

Writes OUTDIR/mpsync.7 (the overview: the reference's introduction and "Common rules"), one
section-3 page per object family (mpsync_lock.3, mpsync_rlock.3, ... : one "## " section of the
reference each), and for every function a family declares a one-line page `.so man3/FAMILY.3`,
so `man 3 mpsync_lock_acquire` opens the Lock page. meson builds them (custom_target) and installs
them under mandir; scripts/check_man.sh renders each with groff and fails on any warning.

The reference uses a small Markdown subset, converted here: headings, paragraphs, "- " lists,
fenced code blocks, pipe tables, `code`, **bold**, *italic* and [links](...).
"""
import pathlib
import re
import sys

FAMILIES = {  # reference heading -> page name
    "Lock": "mpsync_lock", "RLock": "mpsync_rlock", "Semaphore / BoundedSemaphore": "mpsync_sem",
    "Event": "mpsync_event", "Condition": "mpsync_cond", "Barrier": "mpsync_barrier",
    "Waiting on several objects": "mpsync_wait_any", "Signals, backends, version": "mpsync_signals",
    "Shared memory regions": "mpsync_region", "io_uring asynchronous waits": "mpsync_uring",
}
DATE = "2026-12-07"


NO_GLYPH = str.maketrans({"\u2070": "^0", "\u00b9": "^1", "\u00b2": "^2", "\u00b3": "^3", "\u2074": "^4",
                          "\u2075": "^5", "\u2076": "^6", "\u2077": "^7", "\u2078": "^8", "\u2079": "^9"})


def esc(text):
    text = text.translate(NO_GLYPH)
    text = text.replace("\\", "\\e")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)  # ASCII-only pages
    return re.sub(r"^([.'])", r"\\&\1", text)


def inline(text):
    text = esc(text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1 <\2>", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"`([^`]+)`", lambda m: "\\fB" + m.group(1).replace("-", "\\-") + "\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", text)
    return text


def convert(lines):
    """Markdown lines -> roff lines."""
    out, i, in_list = [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out += [".PP", ".RS 4", ".nf"] + [esc(c) if c else "" for c in lines[i + 1:j]] + [".fi", ".RE", ".PP"]
            i, in_list = j + 1, False
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            for r in body:
                out += [".TP", inline(r[0])]
                out.append(inline("; ".join(f"{h}: {c}" for h, c in zip(head[1:], r[1:]) if c)))
            in_list = False
            continue
        m = re.match(r"^(#{2,4}) (.*)", line)
        if m:
            level = len(m.group(1))
            out.append((".SH " if level == 2 else ".SS ") + inline(m.group(2)))
            i, in_list = i + 1, False
            continue
        if line.strip() in ("", "---"):
            i += 1
            if in_list and i < len(lines) and lines[i].startswith("- "):
                continue
            in_list = False
            out.append(".PP")
            continue
        if line.startswith("- "):
            text = [line[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                text.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", inline(" ".join(text))]
            in_list = True
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not re.match(r"^(```|\||#{2,4} |- )", lines[i]):
            para.append(lines[i].strip())
            i += 1
        if in_list:
            out.append(".IP \"\" 2")
        out.append(inline(" ".join(para)))
    cleaned = []
    for l in out:  # no two paragraph macros in a row, none before a section
        if l == ".PP" and cleaned and (cleaned[-1] == ".PP" or cleaned[-1].startswith((".SH", ".SS"))):
            continue
        if l.startswith((".SH", ".SS", ".TP", ".IP")) and cleaned and cleaned[-1] == ".PP":
            cleaned.pop()
        cleaned.append(l)
    while cleaned and cleaned[-1] == ".PP":
        cleaned.pop()
    return cleaned


def sections(text):
    """(title, lines) per '## ' section, fences respected; the part before the first is ('', ...)."""
    out, title, cur, fenced = [], "", [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            out.append((title, cur))
            title, cur = line[3:].strip(), []
        else:
            cur.append(line)
    out.append((title, cur))
    return out


def header(name, sec, version, summary):
    return [f'.TH {name.upper()} {sec} "{DATE}" "mpsync {version}" "mpsync manual"',
            ".SH NAME", f"{esc(name)} \\- {summary}"]


def main():
    if sys.argv[1] == "--list":
        listing, ref, outdir, version = True, pathlib.Path(sys.argv[2]), None, "0"
    else:
        listing, ref, outdir, version = False, pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
        outdir.mkdir(parents=True, exist_ok=True)
    pages = {}
    parts = sections(ref.read_text())
    intro = [l for l in parts[0][1] if not l.startswith("# ")]
    # drop the reference's own table of contents (a list of in-page links)
    intro = [l for l in intro if "](#" not in l and not l.startswith("  [")]
    families, overview = [], []
    for title, body in parts[1:]:
        if title == "Common rules":
            overview = ["## Common rules"] + [re.sub(r"^###", "##", l) for l in body]
        elif title in FAMILIES:
            families.append((title, body))
    see_also = ", ".join(f"\\fB{FAMILIES[t]}\\fR(3)" for t, _ in families)
    page = header("mpsync", 7, version, "Python multiprocessing's synchronization primitives on futex words")
    page += [".SH DESCRIPTION"] + convert(intro + overview) + [".SH SEE ALSO", see_also]
    pages["mpsync.7"] = page
    for title, body in families:
        name = FAMILIES[title]
        funcs = []
        fenced = False
        for l in body:
            if l.startswith("```"):
                fenced = not fenced
            elif fenced:
                funcs += [f for f in re.findall(r"\b(mpsync_\w+)\s*\(", l) if f not in funcs]
        page = header(name, 3, version, f"mpsync {title}")
        if funcs:
            page += [".SH SYNOPSIS", ".nf", ".B #include <mpsync.h>", ".fi", ".PP",
                     "Functions: " + ", ".join(f"\\fB{f}\\fR()" for f in funcs) + ".",
                     ".PP", "Link with \\fI\\-lmpsync\\fR."]
        page += [".SH DESCRIPTION"] + convert(body)
        page += [".SH SEE ALSO", "\\fBmpsync\\fR(7)"]
        pages[f"{name}.3"] = page
        for f in funcs:
            if f != name:
                pages[f"{f}.3"] = [f".so man3/{name}.3"]
    for file, lines in pages.items():
        if not listing:
            (outdir / file).write_text("\n".join(lines) + "\n")
    if listing:
        print("\n".join(pages))


if __name__ == "__main__":
    main()
