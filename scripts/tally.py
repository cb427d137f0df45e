#!/usr/bin/env python3
"""Count test cases of one `meson test` run: GoogleTest cases from the XML each test binary wrote
(tests/results/<name>.xml), plain meson tests (abi-check, demo, ...) as one case each from
meson-logs/testlog.json. A binary that crashed or timed out counts as one more failure.
Usage: tally.py BUILDDIR LABEL  -> prints 'LABEL: P passed, F failed, S skipped' and appends
'P F S' to BUILDDIR/../.tally (the caller sums those)."""
import json, os, sys
import xml.etree.ElementTree as ET

build, label, out = sys.argv[1], sys.argv[2], sys.argv[3]
results = os.path.join(build, 'tests', 'results')
passed = failed = skipped = 0
failures = []
with open(os.path.join(build, 'meson-logs', 'testlog.json')) as f:
    runs = [json.loads(line) for line in f if line.strip()]
for run in runs:
    name, res = run['name'].split(' / ')[-1], run['result']  # meson may prefix 'project / '
    xml = os.path.join(results, name + '.xml')
    if os.path.exists(xml):
        p = fl = sk = 0
        try:
            for case in ET.parse(xml).iter('testcase'):
                if case.find('failure') is not None:
                    fl += 1
                    failures.append(f"{name}: {case.get('classname')}.{case.get('name')}")
                elif case.get('result') == 'skipped' or case.find('skipped') is not None:
                    sk += 1
                else:
                    p += 1
        except ET.ParseError:
            fl += 1
        if res not in ('OK', 'SKIP') and fl == 0:
            fl += 1  # crashed, timed out, or leaked a sanitizer report after its cases
            failures.append(f"{name}: {res}")
        passed, failed, skipped = passed + p, failed + fl, skipped + sk
    elif res == 'OK':
        passed += 1
    elif res == 'SKIP':
        skipped += 1
    else:
        failed += 1
        failures.append(f"{name}: {res}")
print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
for x in failures:
    print(f"  FAILED {x}")
with open(out, 'a') as f:
    f.write(f"{passed} {failed} {skipped}\n")
