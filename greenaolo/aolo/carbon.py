"""The AOLO carbon model of one wireless LLM request, as pure vectorised functions.

Equation numbers are those of ``docs/aolo.md#carbon-model``, whose functional forms are the project's
reconstruction (LLMCarbon operational and embodied carbon, Shannon rate over path loss and Rayleigh
fading, the EARTH base-station power model); the confirmed structure is ``C_all = C_I + C_C`` with
``C_I = C_oper,I + C_emb,I`` and ``C_C = C_oper,C + C_emb,C`` (``docs/aolo.md#f5``). Every function takes NumPy
arrays or Python floats (broadcasting) and an :class:`~greenaolo.aolo.config.AoloConfig`; carbon is in gCO2e,
energy in J, time in s, power in W, carbon intensity in gCO2e/kWh.

Symbols: ``kappa`` output words; ``p`` BS transmit power P_trans (W); ``gain`` channel power gain g (eq.
6, linear); ``intensity`` carbon intensity I (gCO2e/kWh), the same for the data centre and the BS.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from greenaolo.aolo.config import AoloConfig

__all__ = [
    "TERMS",
    "CarbonBreakdown",
    "bs_power",
    "carbon",
    "channel_gain",
    "communication_embodied_carbon",
    "communication_energy",
    "communication_operational_carbon",
    "energy_per_bit",
    "inference_embodied_carbon",
    "inference_energy",
    "inference_operational_carbon",
    "inference_time",
    "latency",
    "link_time",
    "path_loss_db",
    "payload_bits",
    "qoe",
    "qoe_inverse",
    "rate",
    "transmission_time",
]

J_PER_KWH = 3.6e6


# --- inference (eqs. 1-5) --------------------------------------------------------------------------------

def inference_time(kappa, cfg: AoloConfig):
    """Eq. (1): ``t_I = t_pre + rho_tok kappa tau_tok`` (s): prefill plus decoding of kappa words."""
    return cfg.prefill_time + cfg.tokens_per_word * kappa * cfg.time_per_token


def inference_energy(kappa, cfg: AoloConfig):
    """Eq. (2): ``E_I = N_g P_g eta_g t_I / B`` (J), the request's share of the GPUs' energy while generating:
    ``B`` requests decoded at once share it (``B = 1`` in the reconstruction: the request holds the GPUs)."""
    return cfg.n_gpus * cfg.gpu_power * cfg.gpu_utilisation * inference_time(kappa, cfg) / cfg.concurrent_requests


def inference_operational_carbon(kappa, intensity, cfg: AoloConfig):
    """Eq. (3): ``C_oper,I = I PUE E_I / 3.6e6`` (gCO2e)."""
    return intensity * cfg.pue * inference_energy(kappa, cfg) / J_PER_KWH


def inference_embodied_carbon(kappa, cfg: AoloConfig):
    """Eq. (4): ``C_emb,I = (t_I / LT_g) N_g A_die CPA / B`` (gCO2e): the GPUs' manufacturing carbon, amortised
    over their lifetime by the time this request holds them (LLMCarbon), shared by the ``B`` requests decoded
    at once (``B = 1`` in the reconstruction)."""
    return inference_time(kappa, cfg) / cfg.gpu_lifetime * cfg.n_gpus * cfg.gpu_embodied / cfg.concurrent_requests


# --- radio (eqs. 6-15) -----------------------------------------------------------------------------------

def path_loss_db(distance):
    """3GPP macro path loss ``PL(d) = 128.1 + 37.6 log10(d / 1000)`` (dB), distance in m."""
    return 128.1 + 37.6 * np.log10(np.asarray(distance, dtype=float) / 1000.0)


def channel_gain(distance, fading):
    """Eq. (6): ``g = 10^(-PL(d)/10) |h|^2`` (linear), with Rayleigh fading power ``|h|^2 ~ Exp(1)``."""
    return 10.0 ** (-path_loss_db(distance) / 10.0) * fading


def rate(p, gain, cfg: AoloConfig):
    """Eqs. (7)-(8): Shannon rate ``R = B log2(1 + P g / (N_0 B))`` (bit/s)."""
    return cfg.bandwidth * np.log2(1.0 + p * gain / cfg.noise_power)


def payload_bits(kappa, cfg: AoloConfig):
    """Eq. (9): ``D = L_w kappa`` (bit)."""
    return cfg.bits_per_word * kappa


def transmission_time(kappa, p, gain, cfg: AoloConfig):
    """Eq. (10): ``t_C = D / R`` (s), the time the BS transmits at power P."""
    return payload_bits(kappa, cfg) / rate(p, gain, cfg)


def link_time(kappa, p, gain, cfg: AoloConfig):
    """Time the BS serves the request (s): ``t_I + t_C`` when streaming (``docs/aolo.md#a5`` ii: the link is held
    from the first generated word), else ``t_C``."""
    t_c = transmission_time(kappa, p, gain, cfg)
    return inference_time(kappa, cfg) + t_c if cfg.streaming else t_c


def bs_power(p, cfg: AoloConfig):
    """Eq. (11): EARTH model ``P_BS = P_0 + Delta_p P`` (W)."""
    return cfg.bs_static_power + cfg.bs_power_slope * p


def communication_energy(kappa, p, gain, cfg: AoloConfig):
    """Eq. (12): BS energy (J): ``P_0 t_link + Delta_p P t_C``; without streaming ``t_link = t_C`` and this
    is ``P_BS t_C``."""
    return cfg.bs_static_power * link_time(kappa, p, gain, cfg) + cfg.bs_power_slope * p * transmission_time(
        kappa, p, gain, cfg)


def communication_operational_carbon(kappa, p, gain, intensity, cfg: AoloConfig):
    """Eq. (13): ``C_oper,C = I E_C / 3.6e6`` (gCO2e)."""
    return intensity * communication_energy(kappa, p, gain, cfg) / J_PER_KWH


def communication_embodied_carbon(kappa, p, gain, cfg: AoloConfig):
    """Eq. (14): ``C_emb,C = (t_link / LT_BS) C_BS,emb`` (gCO2e): the BS's manufacturing carbon amortised
    over the time it serves this request."""
    return link_time(kappa, p, gain, cfg) / cfg.bs_lifetime * cfg.bs_embodied


def energy_per_bit(p, gain, cfg: AoloConfig):
    """``(P_0 + Delta_p P) / R(P)`` (J/bit): non-monotone in P, one minimum P_ee (``docs/aolo.md#energy-per-bit``)."""
    return bs_power(p, cfg) / rate(p, gain, cfg)


# --- QoE and latency (eqs. 17-18) ------------------------------------------------------------------------

def qoe(kappa, cfg: AoloConfig):
    """Eq. (17): ``Q = 1 - exp(-kappa / kappa_0)`` in [0, 1)."""
    return 1.0 - np.exp(-np.asarray(kappa, dtype=float) / cfg.qoe_scale)


def qoe_inverse(threshold, cfg: AoloConfig):
    """The (real) kappa at which ``Q = threshold``: ``-kappa_0 ln(1 - threshold)`` (words)."""
    return -cfg.qoe_scale * np.log1p(-np.asarray(threshold, dtype=float))


def latency(kappa, p, gain, cfg: AoloConfig):
    """Eq. (18): ``T = t_I + t_C`` (s), end to end."""
    return inference_time(kappa, cfg) + transmission_time(kappa, p, gain, cfg)


#: Float tolerances of the two constraints of problem P1 (an answer that meets the threshold up to
#: rounding meets it), the one definition every evaluation, reward and view uses.
QOE_TOLERANCE = 1e-12
LATENCY_TOLERANCE = 1e-9


def meets_qoe(q, threshold):
    """The QoE constraint ``Q(kappa) >= Q_th`` (up to :data:`QOE_TOLERANCE`)."""
    return q >= threshold - QOE_TOLERANCE


def meets_latency(t, budget):
    """The latency constraint ``t_I + t_C <= T_max`` (up to :data:`LATENCY_TOLERANCE`)."""
    return t <= budget + LATENCY_TOLERANCE


# --- total (eq. 16) --------------------------------------------------------------------------------------

#: The four terms of eq. (16), in :class:`CarbonBreakdown`'s (and the figures' stacking) order, with their symbols.
TERMS = {
    "carbon_inference_operational": "C_oper,I",
    "carbon_inference_embodied": "C_emb,I",
    "carbon_communication_operational": "C_oper,C",
    "carbon_communication_embodied": "C_emb,C",
}


class CarbonBreakdown(NamedTuple):
    """The four terms of eq. (16), gCO2e, and their sums."""

    inference_operational: np.ndarray
    inference_embodied: np.ndarray
    communication_operational: np.ndarray
    communication_embodied: np.ndarray

    @property
    def inference(self):
        return self.inference_operational + self.inference_embodied

    @property
    def communication(self):
        return self.communication_operational + self.communication_embodied

    @property
    def total(self):
        return self.inference + self.communication


def carbon(kappa, p, gain, intensity, cfg: AoloConfig) -> CarbonBreakdown:
    """Eq. (16): ``C_all = C_oper,I + C_emb,I + C_oper,C + C_emb,C`` (gCO2e), term by term (eqs. 3, 4, 13, 14)."""
    return CarbonBreakdown(
        inference_operational_carbon(kappa, intensity, cfg),
        inference_embodied_carbon(kappa, cfg),
        communication_operational_carbon(kappa, p, gain, intensity, cfg),
        communication_embodied_carbon(kappa, p, gain, cfg),
    )
