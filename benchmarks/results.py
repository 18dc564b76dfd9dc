"""Writes one benchmark's section of benchmarks/RESULTS.md, leaving the others alone."""

import datetime
import os
import platform
import re

RESULTS = os.path.join(os.path.dirname(__file__), "RESULTS.md")
HEADER = ("# Benchmark results\n\nMeasured side by side in one run on the machine named in each "
          "section; regenerate a section with the command it names.\n")


def machine():
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def write_section(name, command, body, where=None):
    """Replaces (or appends) the section `name` of RESULTS.md; `where` names the
    machine the figures come from when it is not this one."""
    text = open(RESULTS, encoding="utf-8").read() if os.path.exists(RESULTS) else HEADER
    stamp = datetime.date.today().isoformat()
    section = (f"<!-- {name}:start -->\n## {name}\n\n`{command}` "
               f"({stamp}, {where or machine()})\n\n{body.strip()}\n<!-- {name}:end -->")
    pattern = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->",
                         re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else \
        text.rstrip() + "\n\n" + section + "\n"
    with open(RESULTS, "w", encoding="utf-8") as f:
        f.write(text)
