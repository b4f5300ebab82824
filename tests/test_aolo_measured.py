"""AOLO on measured inference energy (greenaolo.aolo.measured): the mapping by hand, the embodied share, the
reconstruction unchanged by the new field, the study's dataset and figure, and the errors for what was not
measured."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.evaluation import evaluate_oracle
from greenaolo.aolo.measured import measured_config, measured_row, measured_study
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.measured import energy_config

LLAMA = "Llama 3.1 8B Instruct"


@pytest.mark.parametrize(("llm", "gpu", "batch"), [(LLAMA, "H100", 128), ("Llama 3.1 70B Instruct", "H100", 16),
                                                  ("Gemma 3 27B", "B200", 64)])
def test_eq_2_per_token_is_the_measured_energy_per_token(llm, gpu, batch):
    row = energy_config(llm, gpu, batch)
    cfg = measured_config(llm, gpu, batch)
    assert cfg.n_gpus == row.num_gpus and cfg.time_per_token == row.median_itl_ms / 1000
    assert cfg.gpu_power * cfg.gpu_utilisation == pytest.approx(row.avg_power_watts / row.num_gpus)
    by_hand = cfg.n_gpus * cfg.gpu_power * cfg.gpu_utilisation * cfg.time_per_token / cfg.concurrent_requests
    assert by_hand == pytest.approx(row.energy_per_token_joules, rel=1e-12)
    # Eq. (2) itself: each further word costs rho_tok tokens of it, the prefill apart.
    per_word = float(cm.inference_energy(101, cfg) - cm.inference_energy(100, cfg))
    assert per_word == pytest.approx(cfg.tokens_per_word * row.energy_per_token_joules, rel=1e-9)
    # The per-GPU power of one request's stream is the GPU's draw shared by the batch.
    assert cfg.gpu_power / cfg.concurrent_requests == pytest.approx(
        row.energy_per_token_joules / (row.num_gpus * row.median_itl_ms / 1000), rel=1e-12)
    assert cfg.pue == AoloConfig().pue and cfg.prefill_time == AoloConfig().prefill_time
    assert measured_config(llm, gpu, batch, pue=1.1).pue == 1.1


def test_one_requests_breakdown_by_hand():
    """Llama 3.1 8B at batch 128 on one H100: 100 words at 1 W, 100 m, |h|^2 = 1, 475 g/kWh."""
    row = energy_config(LLAMA, "H100", 128)
    cfg = measured_config(LLAMA, "H100", 128)
    e_tok, tau, throughput = row.energy_per_token_joules, row.median_itl_ms / 1000, row.output_throughput_tokens_per_sec
    t_i = 0.2 + 1.33 * 100 * tau
    e_i = e_tok * t_i / tau  # 133 tokens' energy and the share of power over the 0.2 s prefill
    gpu_seconds = t_i / (throughput * tau)  # one GPU, shared by the B = X tau streams decoded at once
    gain = float(cm.channel_gain(100.0, 1.0))
    t_c = 6400 * 100 / (180e3 * math.log2(1 + gain / (10 ** ((-174 - 30) / 10) * 180e3)))
    e_c = 130 * (t_i + t_c) + 4.7 * 1.0 * t_c
    c = cm.carbon(100, 1.0, gain, 475.0, cfg)
    assert float(c.inference_operational) == pytest.approx(475 * 1.2 * e_i / 3.6e6, rel=1e-12)
    assert float(c.inference_embodied) == pytest.approx(gpu_seconds / 1.577e8 * 8.26 * 1500, rel=1e-12)
    assert float(c.communication_operational) == pytest.approx(475 * e_c / 3.6e6, rel=1e-12)
    assert float(c.communication_embodied) == pytest.approx((t_i + t_c) / 3.154e8 * 1.5e6, rel=1e-12)
    assert e_i == pytest.approx(12.65 + 1.154, abs=0.01)  # 0.0951 J x 133 tokens, + 0.2 s / 16.5 ms of tokens


def test_the_batch_shares_the_embodied_carbon():
    cfg = measured_config(LLAMA, "H100", 128)
    row = energy_config(LLAMA, "H100", 128)
    alone = cfg.replace(concurrent_requests=1.0)
    kappa = np.array([50.0, 200.0])
    assert np.allclose(cm.inference_embodied_carbon(kappa, cfg) * cfg.concurrent_requests,
                       cm.inference_embodied_carbon(kappa, alone), rtol=1e-12)
    # Per output token: the server's GPU-seconds per token, N_g / X, at the GPU's embodied carbon per second.
    per_word = float(cm.inference_embodied_carbon(101, cfg) - cm.inference_embodied_carbon(100, cfg))
    per_token = per_word / cfg.tokens_per_word
    assert per_token == pytest.approx(row.num_gpus / row.output_throughput_tokens_per_sec * 12390 / 1.577e8, rel=1e-9)
    # B is about the benchmark's mean batch (the throughput's view of it).
    assert 0.8 < cfg.concurrent_requests / row.avg_batch_size < 1.0


def test_the_reconstruction_is_unchanged():
    """The oracle's means on the 1,000 evaluation requests, as computed before ``concurrent_requests`` existed."""
    cfg = AoloConfig()
    assert cfg.concurrent_requests == 1.0
    ds = evaluate_oracle(evaluation_requests(cfg, 1000), cfg)
    before = {"carbon_inference_operational": 0.26410360620000006, "carbon_inference_embodied": 0.00046804063308814205,
              "carbon_communication_operational": 0.11167505868266996,
              "carbon_communication_embodied": 0.030650335536564634, "carbon": 0.4068970410523227,
              "kappa": 216.437, "p_trans": 3.5718426461777497}
    for name, value in before.items():
        assert float(ds[name].mean()) == pytest.approx(value, rel=1e-12), name
    assert float(ds.communication_share) == pytest.approx(0.3497823278614922, rel=1e-12)
    gain = float(cm.channel_gain(100.0, 1.0))
    terms = [0.12679333333333334, 0.00022470133164235892, 0.052178144662205356, 0.014436979385484064]
    assert [float(x) for x in cm.carbon(100, 1.0, gain, 475.0, cfg)] == pytest.approx(terms, rel=1e-12)


def test_records_without_the_new_field_are_the_same_configuration():
    """A study (or run) recorded before ``concurrent_requests`` and ``useful_kappa_range`` existed describes today's
    default: such studies resume and such runs stay current instead of refusing 'another config'."""
    old = AoloConfig().to_dict()
    del old["concurrent_requests"], old["useful_kappa_range"]
    assert AoloConfig().same_as(json.dumps(old))
    assert not AoloConfig(concurrent_requests=2.0).same_as(json.dumps(old))
    assert not AoloConfig(useful_kappa_range=True).same_as(json.dumps(old))
    assert not AoloConfig().same_as("not json")


def test_default_batch_is_the_most_efficient_that_streams_fast_enough():
    row = measured_row(LLAMA, "H100")
    assert int(row.max_num_seqs) == 128 and row.median_itl_ms <= 20
    assert int(measured_row(LLAMA, "H100", time_per_token=0.05).max_num_seqs) == 512
    with pytest.raises(ValueError, match=r"no measured batch of Gemma 3 27B on H100 streams within time_per_token=0.02"):
        measured_config("Gemma 3 27B", "H100")


@pytest.mark.parametrize(("args", "message"), [
    (("GPT-5", "H100", None), r"model='GPT-5' was not measured for lm-arena-chat: expected one of \[.*'Qwen 3 8B'"),
    ((LLAMA, "A100", None), r"gpu='A100': Llama 3.1 8B Instruct was measured on \['B200', 'H100'\] only"),
    ((LLAMA, "H100", 100), r"batch=100: Llama 3.1 8B Instruct on H100 was measured at maximum batch sizes \[8, 16"),
])
def test_what_was_not_measured_is_named(args, message):
    with pytest.raises(ValueError, match=message):
        measured_config(*args)


def test_the_study_sets_the_measured_configurations_beside_the_reconstruction():
    from greenaolo.figures import draw
    from greenaolo.io import dataset_units_problems

    configurations = ((LLAMA, "H100", None), ("Llama 3.1 70B Instruct", "B200", 32))
    ds = measured_study(configurations, n_requests=60)
    assert list(ds.gpu.values) == ["A100", "H100", "B200"] and list(ds.max_batch.values) == [1, 128, 32]
    reference = evaluate_oracle(evaluation_requests(AoloConfig(), 60), AoloConfig())
    assert float(ds.carbon[0]) == pytest.approx(float(reference.carbon_g))
    assert float(ds.energy_per_token[0]) == pytest.approx(400 * 0.7 * 0.02)
    assert float(ds.energy_per_token[1]) == pytest.approx(energy_config(LLAMA, "H100", 128).energy_per_token_joules)
    terms = sum(ds[t] for t in cm.TERMS)
    assert np.allclose(terms, ds.carbon)
    # The oracle's length is the QoE minimum whatever the GPUs; the split moves to communication.
    assert np.all(ds.kappa == ds.kappa[0])
    assert np.all(ds.communication_share[1:] > ds.communication_share[0])
    assert list(ds.batch.values) == sorted(ds.batch.values) and ds.sizes["batch"] == 11
    assert float(ds.sweep_latency_violation_rate[-1]) > 0 == float(ds.sweep_latency_violation_rate[0])
    assert dataset_units_problems(ds) == []
    ds.attrs["figure"] = "aolo_measured"
    assert len(draw(ds).axes) == 4
