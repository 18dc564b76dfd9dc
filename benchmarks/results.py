"""Writes one benchmark's section of benchmarks/RESULTS.md, leaving the others alone,
and the pieces every section is made of: its table and the command that reruns it."""

import datetime
import os
import platform
import re
import sys

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


def add_row(rows, row):
    """Appends the formatted table row `row` to `rows` and prints it at once, so that a
    long run shows each figure as it is measured."""
    rows.append(row)
    print(row, flush=True)


def table(columns, rows, text_columns=2):
    """A Markdown table: the header `columns`, then `rows` (lines already formatted);
    the first `text_columns` columns are left-aligned, the others (figures) right."""
    align = ["---"] * text_columns + ["---:"] * (len(columns) - text_columns)
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|", *rows])


def rerun_command(module):
    """`python -m module` with this process's arguments: the command a section names."""
    return f"python -m {module} " + " ".join(sys.argv[1:])
