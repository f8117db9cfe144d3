"""Staffing engine: Erlang B, C and A measures and their inverse (required agents).

Pure numerics: numpy/scipy in, numpy out. Rates are per second, times in
seconds. Every function broadcasts over its array arguments and returns numpy
scalars for scalar input, like ``scipy.special``. See docs/staffing.md.
"""

from staffing.erlang_a import ErlangAResult, erlang_a
from staffing.erlang_c import SL_FORMULAS, ErlangCResult, erlang_b, erlang_c, load_from_calls
from staffing.inverse import required_agents
from staffing.patience import estimate_patience

__all__ = [
    "SL_FORMULAS",
    "ErlangAResult",
    "ErlangCResult",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "estimate_patience",
    "load_from_calls",
    "required_agents",
]
