"""AOLO's parameters: one frozen, validated configuration (``docs/aolo.md#parameters``).

The paper's simulation table could not be read, so every value is the project's reconstruction, marked
``[reconstructed]`` with its rationale, or carries the source it was taken from. Each field states its unit
and its valid range; a wrong value raises :class:`ConfigError` naming the parameter, the value and the
range. Configurations load from and save to YAML, and travel in dataset attributes as JSON.

Ambiguity A5 (``docs/aolo.md#a5``), which decides whether the transmit power matters at all, is
settled here by combining its three options, each a field you can switch back:

* (i) a narrow per-user channel: one LTE resource block, ``bandwidth = 180 kHz``, users up to 500 m away;
* (ii) streaming delivery (``streaming = True``): the base station holds the user's radio link from the
  first generated word to the last bit sent, so its static power P_0 is charged for ``t_I + t_C``, the
  load-dependent part ``Delta_p P_trans`` only while transmitting;
* (iii) a spoken answer: ``bits_per_word = 6400`` (a 16 kbit/s speech codec at 0.4 s per word) instead of
  48 bits of text.

Why: with text over a wide channel the transmission takes milliseconds and C_C is far below 1% of the
total, so P_trans cannot matter. With (ii) the communication share of the optimal policy is about a
quarter to a third (tested to lie in 10-60%); with (i) and (iii) the transmission lasts a large fraction of
a second to seconds, so a poor P_trans costs real carbon, and the energy-per-bit optimum P_ee moves with
the channel (from about 1 W near the base station to the maximum at the cell edge in a fade).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from greenaolo.checks import boolean, number, read_yaml

__all__ = ["PAPER_REDUCTION", "AoloConfig", "ConfigError"]

#: SDRL's published reduction of the overall carbon against SAC (abstract; ``docs/aolo.md#f3``): the claim
#: the figures set our results beside, not a parameter of the model.
PAPER_REDUCTION = 0.1877


class ConfigError(ValueError):
    """A configuration value is out of its valid range (the message names parameter, value and range)."""


def _parameter(default: Any, unit: str, low: float, high: float, source: str, *, integer: bool = False):
    """A field with its unit, valid closed range [low, high] and source."""
    return field(default=default, metadata={"unit": unit, "low": low, "high": high, "source": source,
                                            "integer": integer})


RECONSTRUCTED = "[reconstructed]"


@dataclass(frozen=True)
class AoloConfig:
    """Every parameter of the AOLO carbon model and environment (``docs/aolo.md#parameters``).

    Units are in each field's metadata (``AoloConfig.describe()`` lists them). Carbon comes out in gCO2e.
    """

    # Decisions: output length kappa (words) and BS transmit power P_trans (W).
    kappa_min: int = _parameter(20, "words", 1, 10_000, f"{RECONSTRUCTED} docs/aolo.md#parameters", integer=True)
    kappa_max: int = _parameter(600, "words", 1, 10_000, f"{RECONSTRUCTED} docs/aolo.md#parameters", integer=True)
    p_min: float = _parameter(0.1, "W", 1e-6, 1e3, f"{RECONSTRUCTED} docs/aolo.md#parameters")
    p_max: float = _parameter(20.0, "W", 1e-6, 1e3, f"{RECONSTRUCTED} docs/aolo.md#parameters: EARTH macro-BS maximum")
    # Inference (eqs. 1-5, LLMCarbon-style).
    tokens_per_word: float = _parameter(1.33, "tokens/word", 0.1, 10.0, f"{RECONSTRUCTED} 0.75 words per token")
    n_gpus: int = _parameter(1, "GPUs", 1, 1024, f"{RECONSTRUCTED} an edge-sized model (7B-13B)", integer=True)
    gpu_power: float = _parameter(400.0, "W", 1.0, 5000.0, "A100-SXM TDP")
    gpu_utilisation: float = _parameter(0.7, "1", 0.01, 1.0, f"{RECONSTRUCTED} mean utilisation during decoding")
    prefill_time: float = _parameter(0.2, "s", 0.0, 60.0, f"{RECONSTRUCTED} time to first token")
    time_per_token: float = _parameter(0.02, "s/token", 1e-5, 10.0, f"{RECONSTRUCTED} 50 tokens/s, an edge model on one A100")
    pue: float = _parameter(1.2, "1", 1.0, 3.0, f"{RECONSTRUCTED} data-centre PUE")
    gpu_die_area: float = _parameter(8.26, "cm^2", 0.01, 100.0, "A100 die, 826 mm^2 (LLMCarbon)")
    carbon_per_area: float = _parameter(1500.0, "gCO2e/cm^2", 0.0, 1e5, "LLMCarbon carbon per chip area (CPA)")
    gpu_lifetime: float = _parameter(1.577e8, "s", 1.0, 1e10, "5 years (LLMCarbon)")
    concurrent_requests: float = _parameter(
        1.0, "requests", 1.0, 1e6, f"{RECONSTRUCTED} one request holds the GPUs; a measured configuration's batch "
        "shares them (docs/aolo.md#measured-energy)")
    # Radio (eqs. 6-15).
    bandwidth: float = _parameter(180e3, "Hz", 1.0, 1e10, f"{RECONSTRUCTED} docs/aolo.md#a5 (i): one LTE resource block per user")
    noise_psd_dbm: float = _parameter(-174.0, "dBm/Hz", -250.0, 0.0, "thermal noise at 290 K")
    distance_min: float = _parameter(50.0, "m", 1.0, 1e5, f"{RECONSTRUCTED} docs/aolo.md#parameters")
    distance_max: float = _parameter(500.0, "m", 1.0, 1e5, f"{RECONSTRUCTED} docs/aolo.md#parameters")
    bits_per_word: float = _parameter(6400.0, "bit/word", 1.0, 1e7, f"{RECONSTRUCTED} docs/aolo.md#a5 (iii): spoken answer")
    streaming: bool = field(default=True, metadata={"unit": "-", "source": f"{RECONSTRUCTED} docs/aolo.md#a5 (ii)"})
    bs_static_power: float = _parameter(130.0, "W", 0.0, 1e4, "EARTH macro BS P_0 (Auer et al. 2011)")
    bs_power_slope: float = _parameter(4.7, "1", 0.0, 100.0, "EARTH macro BS Delta_p (Auer et al. 2011)")
    bs_embodied: float = _parameter(1.5e6, "gCO2e", 0.0, 1e9, f"{RECONSTRUCTED} about 1.5 tCO2e per radio unit (LCA order)")
    bs_lifetime: float = _parameter(3.154e8, "s", 1.0, 1e10, f"{RECONSTRUCTED} 10 years")
    # Carbon intensity of electricity (docs/aolo.md#a11): drawn per request in [low, high]; equal bounds fix it.
    carbon_intensity_low: float = _parameter(475.0, "gCO2e/kWh", 0.0, 5000.0, f"{RECONSTRUCTED} world-average grid (docs/aolo.md#a11)")
    carbon_intensity_high: float = _parameter(475.0, "gCO2e/kWh", 0.0, 5000.0, f"{RECONSTRUCTED} world-average grid (docs/aolo.md#a11)")
    # QoE (eq. 17) and requests (docs/aolo.md#qoe).
    qoe_scale: float = _parameter(150.0, "words", 1e-3, 1e5, f"{RECONSTRUCTED} kappa_0 of Q = 1 - exp(-kappa/kappa_0)")
    qoe_threshold_low: float = _parameter(0.6, "1", 0.0, 0.9999, f"{RECONSTRUCTED} docs/aolo.md#parameters")
    qoe_threshold_high: float = _parameter(0.9, "1", 0.0, 0.9999, f"{RECONSTRUCTED} docs/aolo.md#parameters")
    latency_budget_low: float = _parameter(10.0, "s", 0.01, 1e4, f"{RECONSTRUCTED} from 10 s every request is feasible at 50 tokens/s")
    latency_budget_high: float = _parameter(20.0, "s", 0.01, 1e4, f"{RECONSTRUCTED} docs/aolo.md#parameters")
    # Environment (docs/aolo.md#mdp).
    episode_length: int = _parameter(50, "requests", 1, 1_000_000, f"{RECONSTRUCTED} docs/aolo.md#a8", integer=True)
    qoe_penalty: float = _parameter(1.0, "1", 0.0, 1e6, f"{RECONSTRUCTED} reward penalty per QoE shortfall (normalised)")
    latency_penalty: float = _parameter(1.0, "1", 0.0, 1e6, f"{RECONSTRUCTED} reward penalty per relative latency excess")
    # Agent-facing options that keep the optimum (docs/aolo.md#useful-range): off by default.
    useful_kappa_range: bool = field(default=False, metadata={
        "unit": "-", "source": "docs/aolo.md#useful-range: the action's kappa spans only the lengths some request needs"})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if "low" not in meta:  # booleans
                value = boolean("AoloConfig", f.name, value)
            else:
                value = number("AoloConfig", f.name, value, meta["low"], meta["high"], integer=meta["integer"],
                               unit=meta["unit"], error=ConfigError)
            object.__setattr__(self, f.name, value)  # numpy scalars become Python numbers
        for low, high in (("kappa_min", "kappa_max"), ("p_min", "p_max"), ("distance_min", "distance_max"),
                          ("carbon_intensity_low", "carbon_intensity_high"),
                          ("qoe_threshold_low", "qoe_threshold_high"), ("latency_budget_low", "latency_budget_high")):
            if getattr(self, low) > getattr(self, high):
                raise ConfigError(
                    f"AoloConfig.{low}={getattr(self, low)!r} is above {high}={getattr(self, high)!r}: "
                    f"expected {low} <= {high}"
                )
        best_qoe = 1.0 - math.exp(-self.kappa_max / self.qoe_scale)
        if self.qoe_threshold_high > best_qoe:
            raise ConfigError(
                f"AoloConfig.qoe_threshold_high={self.qoe_threshold_high!r} is unreachable: the longest answer "
                f"(kappa_max={self.kappa_max}) gives QoE {best_qoe:.4f}; expected qoe_threshold_high <= {best_qoe:.4f}"
            )

    # --- derived quantities -----------------------------------------------------------------------
    @property
    def noise_power(self) -> float:
        """N_0 B in W (eq. 7)."""
        return 10 ** ((self.noise_psd_dbm - 30) / 10) * self.bandwidth

    @property
    def gpu_embodied(self) -> float:
        """C_g,emb = A_die x CPA, gCO2e per GPU (eq. 4)."""
        return self.gpu_die_area * self.carbon_per_area

    @property
    def action_kappa_range(self) -> tuple[float, float]:
        """The answer lengths (words) the action's first entry spans: ``[kappa_min, kappa_max]``, or with
        ``useful_kappa_range`` the lengths that meet the lowest and the highest QoE threshold,
        ``[ceil(Q^-1(Q_th,low)), ceil(Q^-1(Q_th,high))]`` within ``[kappa_min, kappa_max]``: every request's
        optimal length lies there (``docs/aolo.md#useful-range``)."""
        if not self.useful_kappa_range:
            return float(self.kappa_min), float(self.kappa_max)
        def need(threshold: float) -> float:
            return float(math.ceil(-self.qoe_scale * math.log1p(-threshold) - 1e-9))
        low = min(max(need(self.qoe_threshold_low), self.kappa_min), self.kappa_max)
        high = min(max(need(self.qoe_threshold_high), self.kappa_min), self.kappa_max)
        return low, high

    # --- I/O ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AoloConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown AoloConfig parameters {unknown}; valid: {sorted(known)}")
        return cls(**values)

    def same_as(self, recorded: str) -> bool:
        """Whether a configuration recorded as JSON (a run's or a study's ``config``) is this one. A record
        written before a field was added lacks it and reads as that field's default, which leaves every
        result as it was (``concurrent_requests``, ``useful_kappa_range``)."""
        try:
            return AoloConfig.from_dict(json.loads(recorded)) == self
        except (ValueError, TypeError):
            return False

    def to_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path

    @classmethod
    def from_yaml(cls, path: str | Path) -> AoloConfig:
        """Read a configuration from YAML. Numbers written as text (PyYAML reads ``1e6`` as a string) are
        read as numbers.

        :raises ConfigError: the file cannot be read or parsed (with its name, and the line of a syntax
            error), is not a mapping, or holds an invalid value.
        """
        path = Path(path)
        values = read_yaml(path, ConfigError) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of parameter names to values")
        numeric = {f.name for f in dataclasses.fields(cls) if "low" in f.metadata}
        for name, value in values.items():
            if name in numeric and isinstance(value, str):
                try:
                    values[name] = int(value) if value.strip().lstrip("+-").isdigit() else float(value)
                except ValueError:
                    pass  # the check below says it is text, not a number
        try:
            return cls.from_dict(values)
        except (ConfigError, TypeError) as err:
            raise ConfigError(f"{path}: {err}") from None

    def replace(self, **changes: Any) -> AoloConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str, str]]:
        """(name, default, unit, source) for every parameter: the table of ``docs/aolo.md#parameters``."""
        return [(f.name, f.default, f.metadata.get("unit", ""), f.metadata.get("source", ""))
                for f in dataclasses.fields(cls)]
