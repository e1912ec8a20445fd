"""How formulas are written for people: variable names, rounded numbers, powers.

The readable formulas (``optuna_glo.losses.readable_formula``) of every loss share these, so a
number or a power looks the same in the terminal, a dashboard note, a plot title and an exported
module's docstring.
"""

from __future__ import annotations

import math

#: The written names of the variables (GLO section III-A's x and y, indexed by the class i).
X_NAME = "xᵢ"
Y_NAME = "yᵢ"

#: What the names in a readable formula mean.
FORMULA_LEGEND = (
    "xᵢ: the one-hot target (1 for the true class i, else 0); yᵢ: the softmax prediction for "
    "class i; n: the number of classes. Terms that cannot change the gradient are left out."
)

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(value: float, digits: int = 4) -> str:
    """``value`` rounded to ``digits`` significant digits, without an exponent below a million.

    ``2.2249990530283963`` -> ``2.225``, ``12345.6`` -> ``12350``, ``2.0`` -> ``2``,
    ``1.5e-06`` -> ``1.5e-6``.
    """
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.{digits}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if 0 < power < 6:
        return str(int(float(text)))
    return f"{mantissa}e{power}"


def power(base: str, exponent: int) -> str:
    """``base`` raised to ``exponent`` in superscript digits: ``power("yᵢ", 2) == "yᵢ²"``."""
    return base if exponent == 1 else base + str(exponent).translate(_SUPERSCRIPTS)
