"""The text the exported modules share: safe docstring text, the torch-only helpers, and the
TaylorGLO polynomial written operation for operation as ``losses._taylor`` computes it.

:mod:`optuna_glo.reports.export` writes one found loss with these, and
:mod:`optuna_glo.reports.export_schedule` an EPBT loss schedule.
"""

from __future__ import annotations

from optuna_glo.losses import taylor_terms, term_factorials

#: The imports and helpers of every exported module (torch only). ``FORMULA`` is filled in.
PRELUDE = '''\
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FORMULA = {formula_literal}

#: Smallest prediction used where the loss takes log(y), sqrt(y) or divides by y.
EPS = 1e-7


def _one_hot(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        if target.shape != logits.shape[:-1]:
            raise ValueError(
                f"Class-index `target` must have shape {{tuple(logits.shape[:-1])}}; "
                f"it has shape {{tuple(target.shape)}}."
            )
        return F.one_hot(target.long(), logits.shape[-1]).to(logits.dtype)
    if target.shape != logits.shape:
        raise ValueError(
            f"One-hot `target` must have the logits' shape {{tuple(logits.shape)}}; "
            f"it has shape {{tuple(target.shape)}}."
        )
    return target.to(logits.dtype)


def _safe_log(a: torch.Tensor) -> torch.Tensor:
    return torch.log(a.clamp_min(EPS))


def _safe_sqrt(a: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(a.clamp_min(EPS))


def _safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    sign = torch.where(b < 0, -1.0, 1.0).to(b.dtype)
    return a / (sign * b.abs().clamp_min(EPS))
'''

#: The reduction check of every exported loss's ``__init__`` (8 spaces of indent).
REDUCTION_CHECK = '''        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"`reduction` must be 'mean', 'sum' or 'none'. It is {reduction!r}."
            )
        self.reduction = reduction
'''


#: The batch reduction closing every exported loss's ``forward`` (8 spaces of indent).
REDUCE_BATCH = '''        if self.reduction == "mean":
            return per_sample.mean(dim=-1)
        if self.reduction == "sum":
            return per_sample.sum(dim=-1)
        return per_sample
'''


def docstring_text(text: str, *, limit: int = 300, unicode: bool = False) -> str:
    r"""``text`` written so that it stands inside the module's triple-quoted docstring as data.

    Printable ASCII stays as it is, except ``"`` and ``\``, which are escaped; every other
    character (line breaks, terminal escapes, bidi controls, U+2028, non-ASCII letters) is written
    as its escape sequence with the backslash escaped, so the docstring shows ``\x1b`` rather than
    holding an ESC. No value can close the docstring or start a line of code. At most ``limit``
    characters of ``text`` are written. With ``unicode``, printable non-ASCII characters
    (``str.isprintable``: the readable formula's subscripts and signs) stay as they are.
    """
    shown = text if len(text) <= limit else text[:limit] + "..."
    out = []
    for char in shown:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~" or (unicode and char.isprintable()):
            out.append(char)
        else:
            out.append(ascii(char)[1:-1].replace("\\", "\\\\"))
    return "".join(out)


def taylor_terms_source(order: int, form: str) -> str:
    """``__init__`` lines (8 spaces of indent) setting ``self.terms`` and ``self.scales``."""
    terms = taylor_terms(order)
    if form == "eq5":
        scales = [1.0 / divisor for divisor in term_factorials(order)]
        scale_doc = "1 / (a! b!) (eq. 3)"
    else:
        scales = [1.0] * len(terms)
        scale_doc = "1 (no 1 / (a! b!) in this form)"
    return (
        f"        #: (a, b) powers of (x - theta_0) and (y - theta_1), and {scale_doc}.\n"
        f"        self.terms = {terms!r}\n"
        f"        self.scales = {scales!r}\n"
    )


def taylor_body_source(order: int, theta: str) -> str:
    """The body (8 spaces of indent) of ``f(x, y)`` for the parameters named by ``theta``, as
    ``losses._taylor.taylor_pointwise`` computes it."""
    return (
        f"        coeffs = {theta}.to(y.dtype).unbind(-1)\n"
        "        dx = x - coeffs[0]\n"
        "        dy = y - coeffs[1]\n"
        "        dx_pows = [torch.ones_like(dx), dx]\n"
        "        dy_pows = [torch.ones_like(dy), dy]\n"
        f"        for _ in range(2, {order} + 1):\n"
        "            dx_pows.append(dx_pows[-1] * dx)\n"
        "            dy_pows.append(dy_pows[-1] * dy)\n"
        "        out = torch.zeros_like(y)\n"
        "        for coeff, scale, (a, b) in zip(coeffs[2:], self.scales, self.terms):\n"
        "            out = out + (coeff * scale) * dx_pows[a] * dy_pows[b]\n"
        "        return out\n"
    )
