"""What differs between the settings a folder recorded (a data manifest, a recipe's
run.json) and the ones given now, as the one line a refusal shows."""


def describe_changes(recorded, current, limit=4, width=60):
    """`"key: old there, new now; ..."` for the keys whose values differ (sorted, the
    first `limit`, values cut to `width` characters), "" when none does.

    Example:
    >>> describe_changes({"seed": 0, "lr": 1}, {"seed": 1, "lr": 1})
    'seed: 0 there, 1 now'
    """
    changed = sorted(k for k in set(recorded) | set(current)
                     if recorded.get(k) != current.get(k))
    shown = "; ".join(f"{k}: {_short(recorded.get(k), width)} there, "
                      f"{_short(current.get(k), width)} now" for k in changed[:limit])
    return shown + ("; ..." if len(changed) > limit else "")


def _short(value, width):
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."
