"""Malformed rows in task files: one error naming the file and line, or with
`skip_bad_rows=True`, the row left out and one warning counting what was left out.

Example:
>>> rows = BadRows("train.tsv", skip=True)  # doctest: +SKIP
>>> rows.bad(7, "no label column")  # counted, not raised  # doctest: +SKIP
>>> rows.report()  # warns: train.tsv: skipped 1 malformed row(s) ...  # doctest: +SKIP
"""

import warnings


class BadRows:
    """What a reader found malformed in `path`: raises `ValueError` at the first
    (`skip=False`), or counts them for `report` (`skip=True`)."""

    def __init__(self, path, skip=False):
        self.path, self.skip = path, bool(skip)
        self.count, self.first = 0, None

    def bad(self, where, problem):
        """A malformed row at `where` (a line number or a name); `problem` says why."""
        message = f"{self.path}:{where}: {problem}"
        if not self.skip:
            raise ValueError(f"{message} (skip_bad_rows=True leaves such rows out).")
        self.count += 1
        self.first = self.first or message

    def report(self):
        """Warns once with the count of rows left out and the first; returns the count."""
        if self.count:
            warnings.warn(f"{self.path}: skipped {self.count} malformed row(s); the first: "
                          f"{self.first}", stacklevel=3)
        return self.count
