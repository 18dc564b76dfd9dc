"""Writes one benchmark's section of benchmarks/RESULTS.md, leaving the others alone,
and the pieces every section is made of: its table and the command that reruns it;
and the JSON-lines records long benchmarks resume from (`append_record`, `read_records`)."""

import datetime
import json
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
    with open(RESULTS + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(RESULTS + ".tmp", RESULTS)  # a kill never leaves half of RESULTS.md


def append_record(path, record):
    """Appends `record` to the JSON-lines file `path` as one line in one write, synced
    to disk; a last line that a killed run left unfinished is cut off first.

    Example:
    >>> append_record("/tmp/draws.jsonl", {"seed": 0, "f1": 0.58})  # doctest: +SKIP
    """
    line = (json.dumps(record) + "\n").encode("utf-8")
    with open(path, "a+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":  # a torn line: keep up to the last whole one
                f.seek(0)
                f.truncate(f.read().rfind(b"\n") + 1)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_records(path):
    """The records of the JSON-lines file `path` (none if it is missing), leaving out
    a last line that a killed run left unfinished (it has no newline)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines[-1].strip():
        print(f"{path}: its last line was cut short by a killed run; left out.",
              file=sys.stderr)
    return [json.loads(line) for line in lines[:-1] if line.strip()]


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
