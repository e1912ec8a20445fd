"""Stored text made safe to print: what a shared database holds must not drive the terminal.

Study names, spec values and trial attributes come from a database that anyone with access can
write. Printed as they are, ANSI/OSC escape sequences in them could clear the screen, retitle the
window or forge a hyperlink, line breaks could forge lines of output, and bidi overrides could
show text in another order than it has. Every stored string the CLI prints goes through
:func:`printable`.
"""

from __future__ import annotations

import re

#: Terminal control sequences, removed whole: CSI (``ESC [`` ... final byte), the string
#: sequences OSC, DCS, SOS, PM and APC up to their terminator (BEL or ST) or the end, and the
#: two-character escapes (``ESC c``, ``ESC ( B``), in their 7-bit and 8-bit (C1) forms. The
#: classes of each part are disjoint, so matching never backtracks.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)

#: What stands for one removed sequence or control character.
_MARK = "?"


def _character(char: str) -> str:
    if char.isprintable():
        return char
    if char.isspace():  # tab, line breaks, U+2028, no-break spaces: one line, one space
        return " "
    return _MARK  # other C0/C1 controls, bidi overrides and other format characters, surrogates


def printable(value: object, *, limit: int | None = 200) -> str:
    r"""``value`` as text that is safe to print on one line of a terminal.

    Control sequences and control characters become ``"?"``, whitespace controls a space; at most
    ``limit`` characters are kept (``None``: all), with ``"..."`` when some were cut.

    Example::

        printable("evil\x1b]0;owned\x07 name\n")   # 'evil? name '
    """
    text = value if isinstance(value, str) else str(value)
    cut = limit is not None and len(text) > 2 * limit + 64
    if limit is not None and cut:
        # Only the start is read (a stored value may be huge); a sequence cut short there is
        # still removed whole, so the part kept is as safe as the whole.
        text = text[: 2 * limit + 64]
    out = "".join(map(_character, _SEQUENCE.sub(_MARK, text)))
    if limit is not None and (cut or len(out) > limit):
        out = out[:limit] + "..."
    return out

