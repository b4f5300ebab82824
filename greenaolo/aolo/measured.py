"""AOLO on measured inference energy: an :class:`AoloConfig` from an ML.ENERGY Benchmark configuration.

The reconstruction's inference fields are assumptions (one A100 at 70% of its 400 W, 20 ms per token,
held by one request: 5.6 J per token). :func:`measured_config` replaces them with one measured
configuration (model, GPU, batch) of the ML.ENERGY Benchmark v3 (J.-W. Chung et al., "The ML.ENERGY
Benchmark: Toward Automated Inference Energy Measurement and Optimization", NeurIPS Datasets and
Benchmarks 2025; :func:`greenaolo.measured.energy_config`), and :func:`measured_study` sets the carbon
breakdown and the oracle's decisions of several such configurations beside the reconstruction's
(``docs/aolo.md#measured-energy``). Only the inference fields change; the radio, the requests and the
oracle are the reconstruction's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.carbon import TERMS
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.evaluation import evaluate_oracle
from greenaolo.aolo.oracle import energy_efficient_power
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.measured import energy_config, energy_configs
from greenaolo.options import EVALUATION_SEED

__all__ = ["BATCH_SWEEP", "CHAT", "FIGURE_CONFIGURATIONS", "measured_config", "measured_row", "measured_study"]

#: The benchmark's chat task (LMArena prompts): the closest to AOLO's spoken answers.
CHAT = "lm-arena-chat"

#: The configurations of the ``aolo_measured`` figure, (model, GPU, batch): four chat models on both GPUs,
#: each at the batch :func:`measured_config` chooses (``None``), but Gemma 3 27B on one H100, whose fastest
#: measured batch (8) streams at 23 ms per token, above the reconstruction's 20 ms: it is shown at that batch.
FIGURE_CONFIGURATIONS: tuple[tuple[str, str, int | None], ...] = (
    ("Llama 3.1 8B Instruct", "H100", None),
    ("Llama 3.1 8B Instruct", "B200", None),
    ("Qwen 3 8B", "H100", None),
    ("Qwen 3 8B", "B200", None),
    ("Gemma 3 27B", "H100", 8),
    ("Gemma 3 27B", "B200", None),
    ("Llama 3.1 70B Instruct", "H100", None),
    ("Llama 3.1 70B Instruct", "B200", None),
)
#: The (model, GPU) whose every measured batch the figure's last panel sweeps.
BATCH_SWEEP = ("Llama 3.1 8B Instruct", "H100")


def _batches(llm: str, gpu: str, task: str) -> pd.DataFrame:
    """Every measured batch of ``llm`` on ``gpu`` (on the fewest GPUs, as :func:`energy_config` chooses)."""
    first = energy_config(llm, gpu, task=task)  # raises, naming what exists, for an unknown model or GPU
    table = energy_configs()
    return table[(table.task == task) & (table.model_id == first.model_id) & (table.gpu_model == gpu)
                 & (table.num_gpus == first.num_gpus)]


def measured_row(llm: str, gpu: str = "H100", batch: int | None = None, time_per_token: float = 0.02,
                 task: str = CHAT) -> pd.Series:
    """The measured configuration :func:`measured_config` maps: ``llm`` on ``gpu`` at maximum batch size
    ``batch``, or (``None``) the batch with the lowest energy per token among those whose median inter-token
    latency is within ``time_per_token`` (s): the most efficient server that still streams each user's answer
    as fast as the reconstruction assumes. (The loader's own default, the lowest energy per token at any
    latency, streams at up to 125 ms per token: most of AOLO's latency budgets could not be met.)

    :raises ValueError: an unknown model, GPU, task or batch (from :func:`greenaolo.measured.energy_config`,
        naming what was measured), or no batch fast enough (naming the fastest).
    """
    if batch is not None:
        return energy_config(llm, gpu, batch, task=task)
    rows = _batches(llm, gpu, task)
    fast = rows[rows.median_itl_ms <= 1000 * time_per_token]
    if fast.empty:
        fastest = rows.loc[rows.median_itl_ms.idxmin()]
        raise ValueError(f"batch=None: no measured batch of {llm} on {gpu} streams within time_per_token="
                         f"{time_per_token:g} s (the fastest, batch {int(fastest.max_num_seqs)}, takes "
                         f"{fastest.median_itl_ms / 1000:.4f} s per token): give a batch, or a larger time_per_token")
    return fast.loc[fast.energy_per_token_joules.idxmin()]


def measured_config(llm: str, gpu: str = "H100", batch: int | None = None, base: AoloConfig | None = None, *,
                    pue: float | None = None, task: str = CHAT) -> AoloConfig:
    """``base`` (default: the reconstruction) with its inference fields taken from one measured configuration.

    The benchmark runs a server (vLLM) at a fixed maximum batch size until its throughput is steady, and
    reports the GPUs' energy per output token ``e_tok`` (J: their mean power summed over the ``N_g`` GPUs,
    ``P_avg``, over the server's output throughput ``X``, tokens/s, so the prompts' prefill work is inside it),
    and the median inter-token latency each stream sees. A request served by that server is charged its share
    of the GPUs, ``e_tok`` per output token. The mapping makes eqs. (1)-(2) reproduce that exactly:

    * ``n_gpus = N_g``, the benchmark's GPUs (the fewest it measured the model on);
    * ``time_per_token`` tau_tok = the median inter-token latency: the pace at which a user receives the answer
      (it sets t_I, the latency, and the time the streaming BS holds the link);
    * ``gpu_power`` P_g = ``P_avg / N_g``, the mean measured draw of one GPU, with ``gpu_utilisation`` eta_g = 1
      (the measurement is already the mean draw, so no TDP and utilisation are assumed);
    * ``concurrent_requests`` B = ``X tau_tok``, the streams the server decodes at once as its throughput sees
      them (tokens/s over each stream's tokens/s; between 0.8 and 1.0 of the benchmark's mean batch for most
      configurations). So eq. (2) per token is ``N_g P_g eta_g tau_tok / B = P_avg / X = e_tok``. The per-GPU
      power attributable to one request's stream, ``P_g eta_g / B = e_tok / (N_g tau_tok)``, is far below one
      GPU's draw (1.5 W for Llama 3.1 8B at batch 128 on an H100, against 669 W): the batch shares the GPUs.
    * The same B shares the embodied carbon (eq. 4): the request holds ``N_g t_I`` GPU-seconds together with
      B - 1 others, so it is charged ``N_g t_I / B``, per token ``N_g / X`` GPU-seconds: the server's GPU time
      per output token, as its energy is the server's energy per output token.

    Assumptions: ``prefill_time`` keeps ``base``'s value (0.2 s): the benchmark reports no time to first token.
    Eq. (2) charges the request's share of the power over it as well, ``e_tok t_pre / tau_tok`` (the energy of
    10 to 30 tokens at 20 to 7 ms per token), on top of the prompt work already inside ``e_tok``: a small
    overcount. The energy is the GPUs' only: the host's CPUs, memory and network are not in it, and the
    facility's overhead is added by ``pue`` (default ``base``'s). The GPUs' embodied carbon per GPU (``A_die
    CPA``) and lifetime stay ``base``'s (LLMCarbon's A100 figure; an H100 die is about as large, a B200 has
    two). The answer length kappa, the radio and the requests are unchanged.

    :param llm: the model's nickname or Hugging Face id (``greenaolo.measured.energy_configs().nickname``).
    :param gpu: ``"H100"`` or ``"B200"``.
    :param batch: the benchmark's maximum batch size; ``None``: :func:`measured_row`'s choice, the most
        efficient batch that streams within ``base.time_per_token``.
    :param base: the configuration whose other fields are kept (default ``AoloConfig()``).
    :param pue: the data centre's PUE (default ``base.pue``).
    :param task: the benchmark's task (default its chat prompts).
    :raises ValueError: an unknown model, GPU, task or batch, naming what was measured.
    """
    base = base or AoloConfig()
    row = measured_row(llm, gpu, batch, base.time_per_token, task)
    tau = float(row.median_itl_ms) / 1000.0
    return base.replace(
        n_gpus=int(row.num_gpus),
        gpu_power=float(row.avg_power_watts) / int(row.num_gpus),
        gpu_utilisation=1.0,
        time_per_token=tau,
        concurrent_requests=float(row.output_throughput_tokens_per_sec) * tau,
        pue=base.pue if pue is None else pue,
    )


def _label(llm: str, gpu: str, row: pd.Series) -> str:
    return f"{llm.removesuffix(' Instruct')}, {int(row.num_gpus)}x {gpu}, batch {int(row.max_num_seqs)}"


def _oracle_means(requests, cfg: AoloConfig) -> dict[str, float]:
    """The oracle's mean carbon terms, decisions and rates on ``requests`` under ``cfg``."""
    ds = evaluate_oracle(requests, cfg)
    p_ee = energy_efficient_power(requests["gain"], requests["intensity"], cfg)
    out = {term: float(ds[term].mean()) for term in TERMS}
    out.update(
        carbon=float(ds.carbon_g), communication_share=float(ds.communication_share), kappa=float(ds.kappa.mean()),
        p_trans=float(ds.p_trans.mean()), latency_bound_rate=float(np.mean(ds.p_trans.values > p_ee * (1 + 1e-9))),
        latency_violation_rate=float(ds.latency_violation_rate), qoe_violation_rate=float(ds.qoe_violation_rate),
        energy_per_token=float(cm.inference_energy(1.0, cfg.replace(prefill_time=0.0)) / cfg.tokens_per_word),
        inference_energy=float(cm.inference_energy(ds.kappa.values, cfg).mean()),
        time_per_token=cfg.time_per_token, concurrent_requests=cfg.concurrent_requests, n_gpus=float(cfg.n_gpus),
        gpu_power=cfg.gpu_power * cfg.gpu_utilisation,
    )
    return out


#: Units and long names of :func:`measured_study`'s variables (prefixed ``sweep_`` on the batch sweep).
VARIABLES = {
    **{term: ("g", f"oracle's mean {symbol}, CO2e, per request") for term, symbol in TERMS.items()},
    "carbon": ("g", "oracle's mean C_all, CO2e, per request"),
    "communication_share": ("1", "oracle's C_C / (C_I + C_C)"),
    "kappa": ("1", "oracle's mean answer length kappa* (words)"),
    "p_trans": ("W", "oracle's mean transmit power P*"),
    "latency_bound_rate": ("1", "share of requests whose latency budget lifts P* above P_ee"),
    "latency_violation_rate": ("1", "oracle's latency violation rate"),
    "qoe_violation_rate": ("1", "oracle's QoE violation rate"),
    "energy_per_token": ("J", "GPU energy per output token, N_g P_g eta_g tau_tok / B (eq. 2)"),
    "inference_energy": ("J", "oracle's mean GPU energy per request E_I (eq. 2)"),
    "time_per_token": ("s", "time per token tau_tok (median inter-token latency)"),
    "concurrent_requests": ("1", "requests sharing the GPUs B"),
    "n_gpus": ("1", "GPUs N_g"),
    "gpu_power": ("W", "mean draw of one GPU P_g eta_g"),
}


def measured_study(configurations=FIGURE_CONFIGURATIONS, *, batch_sweep: tuple[str, str] | None = BATCH_SWEEP,
                   base: AoloConfig | None = None, n_requests: int = 1000, seed: int = EVALUATION_SEED) -> xr.Dataset:
    """The oracle's carbon breakdown and decisions on the evaluation requests (those of ``aolo_carbon_model``)
    for the reconstruction and each measured configuration, and for every measured batch of ``batch_sweep``.

    :param configurations: (model, GPU, batch) triples for :func:`measured_config` (batch ``None``: its choice).
    :param batch_sweep: a (model, GPU) whose every measured batch is evaluated (``None``: no sweep).
    :param base: the reconstruction (default ``AoloConfig()``), the first row and every other field.
    :returns: variables of :data:`VARIABLES` on ``configuration`` (the reconstruction first, with coordinates
        ``model``, ``gpu`` and ``max_batch``), and with a ``sweep_`` prefix on ``batch``.
    """
    base = base or AoloConfig()
    requests = evaluation_requests(base, n_requests, seed)  # only inference fields differ: the same requests
    labels, models, gpus, batches, rows = ["reconstruction (A100, B = 1)"], ["reconstruction"], ["A100"], [1], []
    rows.append(_oracle_means(requests, base))
    for llm, gpu, batch in configurations:
        row = measured_row(llm, gpu, batch, base.time_per_token)
        cfg = measured_config(llm, gpu, int(row.max_num_seqs), base)
        labels.append(_label(llm, gpu, row))
        models.append(llm)
        gpus.append(gpu)
        batches.append(int(row.max_num_seqs))
        rows.append(_oracle_means(requests, cfg))
    data = {name: (("configuration",), [r[name] for r in rows], {"units": u, "long_name": ln})
            for name, (u, ln) in VARIABLES.items()}
    coords = {"configuration": labels, "model": ("configuration", models), "gpu": ("configuration", gpus),
              "max_batch": ("configuration", batches, {"units": "1", "long_name": "benchmark's maximum batch size"})}
    if batch_sweep is not None:
        llm, gpu = batch_sweep
        sweep = sorted(int(b) for b in _batches(llm, gpu, CHAT).max_num_seqs)
        swept = [_oracle_means(requests, measured_config(llm, gpu, b, base)) for b in sweep]
        data.update({f"sweep_{name}": (("batch",), [r[name] for r in swept], {"units": u, "long_name": ln})
                     for name, (u, ln) in VARIABLES.items()})
        coords["batch"] = ("batch", sweep, {"units": "1", "long_name": "benchmark's maximum batch size"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(config=base.to_json(), evaluation_seed=seed, evaluation_requests=n_requests, task=CHAT,
                    batch_sweep="" if batch_sweep is None else f"{batch_sweep[0]} on {batch_sweep[1]}",
                    source="ML.ENERGY Benchmark v3 (J.-W. Chung et al., NeurIPS Datasets and Benchmarks 2025): "
                           "GPU energy only, times PUE")
    return ds
