"""PopSAN inside SB3's SAC: spikes, surrogate gradients, a hand-built forward pass, learning, saving."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from stable_baselines3 import SAC

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import AoloEnv
from greenaolo.aolo import popsan
from greenaolo.aolo.popsan import (
    CompileFallbackWarning,
    PopSAN,
    PopSANActor,
    PopSANPolicy,
    PopSpikeEncoderRegularSpike,
    ScaledAdam,
    SpikeMLP,
    compile_available,  # noqa: F401 - named in the skipif condition string below
)
from greenaolo.aolo.training import agent, load_hyperparams

SMALL = {"hidden_sizes": (32, 16)}


def test_encoder_spikes_are_binary_and_regular():
    enc = PopSpikeEncoderRegularSpike(obs_dim=3, pop_dim=10, spike_ts=5)
    spikes = enc(torch.tensor([[0.0, 1.0, -2.5], [3.0, -3.0, 0.3]]))
    assert spikes.shape == (2, 30, 5)
    assert set(torch.unique(spikes).tolist()) <= {0.0, 1.0}
    # A neuron at its mean gets stimulus 1 and fires at every step (deterministic "regular" spikes).
    assert spikes[1, 9].sum() == 5  # obs 3.0 sits on the last mean of dimension 0


def _hand_forward(net: PopSAN, obs: torch.Tensor) -> torch.Tensor:
    """The PopSAN of ``docs/aolo.md#popsan`` written out with explicit loops, on the network's own weights."""
    enc, snn, dec = net.encoder, net.snn, net.decoder
    mean, std = enc.mean.detach()[0], enc.std.detach()[0]
    out = []
    for x in obs:
        a = torch.exp(-0.5 * (x[:, None] - mean) ** 2 / std**2).reshape(-1)
        v_enc = torch.zeros_like(a)
        states = [[torch.zeros(layer.out_features) for _ in range(3)] for layer in snn.layers]
        rate = torch.zeros(snn.layers[-1].out_features)
        for _ in range(snn.spike_ts):
            v_enc = v_enc + a
            pre = (v_enc > 0.999).float()
            v_enc = v_enc - pre * 0.999
            for i, layer in enumerate(snn.layers):
                c, v, o = states[i]
                c = 0.5 * c + layer.weight.detach() @ pre + layer.bias.detach()
                v = 0.75 * v * (1 - o) + c
                o = (v > 0.5).float()
                states[i] = [c, v, o]
                pre = o
            rate = rate + pre
        rate = (rate / snn.spike_ts).reshape(dec.act_dim, dec.pop_dim)
        w, b = dec.decoder.weight.detach()[:, 0, :], dec.decoder.bias.detach()
        out.append((w * rate).sum(-1) + b)
    return torch.stack(out)


def test_actor_mean_matches_a_hand_built_forward_pass():
    torch.manual_seed(0)
    net = PopSAN(obs_dim=5, act_dim=2, **SMALL)
    obs = torch.rand(16, 5) * 2 - 1
    torch.testing.assert_close(net(obs), _hand_forward(net, obs), rtol=1e-5, atol=1e-6)


def test_surrogate_gradient_reaches_the_encoder_means_and_widths():
    torch.manual_seed(1)
    net = PopSAN(obs_dim=5, act_dim=2, **SMALL)
    obs = torch.rand(64, 5) * 2 - 1
    net(obs).pow(2).sum().backward()
    for p in (net.encoder.mean, net.encoder.std, net.snn.layers[0].weight, net.decoder.decoder.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


@pytest.mark.parametrize("hidden", [(32, 16), (256, 256)])
def test_fast_path_matches_the_original_loops(hidden):
    """Same spikes and outputs to the bit, same gradients to float rounding, same spike counts."""
    torch.manual_seed(2)
    fast = PopSAN(obs_dim=5, act_dim=2, hidden_sizes=hidden)
    plain = copy.deepcopy(fast)
    plain.set_fast(False)
    assert fast.snn.fast and not plain.snn.fast and not plain.encoder.fast
    obs = torch.rand(128, 5) * 2 - 1
    torch.testing.assert_close(fast.encoder(obs), plain.encoder(obs), rtol=0, atol=0)
    out_fast, out_plain = fast(obs), plain(obs)
    torch.testing.assert_close(out_fast, out_plain, rtol=0, atol=0)
    fast_counts, plain_counts = fast.spike_counts(obs), plain.spike_counts(obs)
    assert [int(c) for c in fast_counts] == [int(c) for c in plain_counts] and len(fast_counts) == len(hidden) + 2
    assert all(int(c) > 0 for c in fast_counts)
    # The counts come back from the call, not through the module: a forward leaves no state behind.
    assert not [name for name in vars(fast.snn) if "count" in name]
    weights = torch.randn_like(out_fast)  # a loss whose gradient differs per output
    (out_fast * weights).sum().backward()
    (out_plain * weights).sum().backward()
    for (name, p), q in zip(fast.named_parameters(), plain.parameters()):
        assert p.grad.abs().sum() > 0, name
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_fast_lif_backward_is_the_plain_loops_chain_rule():
    """Autograd's own check of the hand-written backward, in float64, on inputs away from the spike
    threshold (the pseudo-gradient is what both define, so compare against the plain loop's autograd)."""
    torch.manual_seed(3)
    snn_fast = SpikeMLP(6, 4, (5,), spike_ts=5).double()
    snn_plain = copy.deepcopy(snn_fast)
    snn_plain.fast = False
    spikes = (torch.rand(3, 6, 5, dtype=torch.float64) > 0.5).to(torch.float64).requires_grad_(True)
    spikes_plain = spikes.detach().clone().requires_grad_(True)
    w = torch.randn(3, 4, dtype=torch.float64)
    (snn_fast(spikes) * w).sum().backward()
    (snn_plain(spikes_plain) * w).sum().backward()
    torch.testing.assert_close(spikes.grad, spikes_plain.grad)
    for p, q in zip(snn_fast.parameters(), snn_plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_sdrl_training_is_the_same_on_either_path():
    """A short SDRL run on the fast path and on the original loops ends with (nearly) the same actor."""
    def run(fast: bool):
        env = AoloEnv(AoloConfig(episode_length=20))
        model = SAC(PopSANPolicy, env, learning_rate=1e-3, learning_starts=20, batch_size=16, seed=0,
                    policy_kwargs={"popsan_kwargs": {**SMALL, "fast": fast}, "net_arch": [32, 32]})
        model.learn(50)
        return model
    fast, plain = run(True), run(False)
    assert fast.policy.actor.mu.snn.fast and not plain.policy.actor.mu.snn.fast
    for p, q in zip(fast.policy.actor.parameters(), plain.policy.actor.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_scaled_adam_keeps_the_group_ratio_after_sb3_resets_lr():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    opt = ScaledAdam([{"params": [a], "lr_scale": 0.1}, {"params": [b], "lr_scale": 1.0}], lr=1.0)
    for group in opt.param_groups:  # what SB3's update_learning_rate does at every train()
        group["lr"] = 1e-3
    a.grad, b.grad = torch.ones(3), torch.ones(3)
    opt.step()  # Adam's first step moves each element by lr (sign of the gradient)
    torch.testing.assert_close(a.detach(), torch.full((3,), -1e-4))
    torch.testing.assert_close(b.detach(), torch.full((3,), -1e-3))
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-3]


def test_sdrl_learns_saves_and_loads_identically(tmp_path):
    env = AoloEnv(AoloConfig(episode_length=20))
    model = SAC(PopSANPolicy, env, learning_rate=1e-3, learning_starts=20, batch_size=16, seed=0,
                policy_kwargs={"popsan_kwargs": SMALL, "net_arch": [32, 32]})
    actor = model.policy.actor
    assert isinstance(actor, PopSANActor) and not hasattr(actor.mu, "weight")  # SB3's mu head is gone
    before = [p.detach().clone() for p in actor.mu.parameters()]
    model.learn(60)
    assert any(not torch.equal(b, p) for b, p in zip(before, actor.mu.parameters()))  # the PopSAN learned
    assert [g["lr_scale"] for g in actor.optimizer.param_groups] == [0.1, 1.0]
    path = model.save(tmp_path / "sdrl") or tmp_path / "sdrl.zip"
    loaded = SAC.load(path, env=env)
    obs = np.random.default_rng(0).uniform(-1, 1, (32, 5)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    assert tuple(loaded.policy.popsan_kwargs["hidden_sizes"]) == (32, 16)


def test_bad_policy_arguments():
    with pytest.raises(ValueError, match="snn_lr_scale=0 is out of range"):
        SAC(PopSANPolicy, AoloEnv(), policy_kwargs={"snn_lr_scale": 0})


needs_compile = pytest.mark.skipif("not compile_available()", reason="torch.compile does not work on this machine")


@needs_compile
def test_compiled_path_matches_the_original_loops():
    """torch.compile'd fast path: the plain loops' spikes and outputs to the bit, at the batch sizes training
    and evaluation use (1, a batch, a large evaluation set), with and without gradients."""
    torch.manual_seed(4)
    net = PopSAN(obs_dim=5, act_dim=2, compile=True)
    plain = copy.deepcopy(net)
    plain.set_fast(False)
    assert net.compiled and not plain.compiled
    for batch in (1, 100, 1000):
        obs = torch.rand(batch, 5) * 6 - 3
        with torch.no_grad():
            torch.testing.assert_close(net(obs), plain(obs), rtol=0, atol=0)
        assert [int(c) for c in net.spike_counts(obs)] == [int(c) for c in plain.spike_counts(obs)]
    assert all(int(c) > 0 for c in net.spike_counts(obs))
    obs = torch.rand(100, 5) * 6 - 3
    out, out_plain = net(obs), plain(obs)
    torch.testing.assert_close(out, out_plain, rtol=0, atol=0)
    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    (out_plain * weights).sum().backward()
    for (name, p), q in zip(net.named_parameters(), plain.parameters()):
        assert p.grad.abs().sum() > 0, name
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)


@needs_compile
def test_sdrl_trains_the_same_compiled_and_eager(small_hyperparams):
    """A short SDRL run with the hyperparameter file's settings, compiled and eager: (nearly) the same
    actor (gradients differ by float rounding only)."""
    def run(compiled: bool):
        hp = small_hyperparams(compile=compiled)
        model = agent("sdrl", AoloEnv(AoloConfig(episode_length=20)), 0, hp)
        model.learn(50)
        return model
    compiled, eager = run(True), run(False)
    assert compiled.policy.actor.mu.compiled and not eager.policy.actor.mu.compiled
    for p, q in zip(compiled.policy.actor.parameters(), eager.policy.actor.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_compile_failure_falls_back_to_the_eager_path_with_a_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(popsan, "_compiled", {})
    monkeypatch.setattr(torch, "compile", broken)
    torch.manual_seed(5)
    net = PopSAN(obs_dim=5, act_dim=2, compile=True, **SMALL)
    eager = copy.deepcopy(net)
    eager.compile = False
    obs = torch.rand(16, 5) * 6 - 3
    with pytest.warns(CompileFallbackWarning, match="no C[+][+] compiler found"):
        out = net(obs)
    assert not net.compiled
    torch.testing.assert_close(out, eager(obs), rtol=0, atol=0)


def test_compile_setting_from_the_environment(monkeypatch):
    monkeypatch.setenv(popsan.COMPILE_ENV, "0")
    assert PopSAN(obs_dim=2, act_dim=1, **SMALL).compile is False
    assert PopSAN(obs_dim=2, act_dim=1, compile=True, **SMALL).compile is True  # an explicit choice wins
    monkeypatch.setenv(popsan.COMPILE_ENV, "1")
    assert PopSAN(obs_dim=2, act_dim=1, **SMALL).compile is True
    monkeypatch.setenv(popsan.COMPILE_ENV, "maybe")
    with pytest.raises(ValueError, match="GREENAOLO_TORCH_COMPILE='maybe' is invalid"):
        PopSAN(obs_dim=2, act_dim=1, **SMALL)
    with pytest.raises(ValueError, match="compile='yes' is invalid"):
        PopSAN(obs_dim=2, act_dim=1, compile="yes", **SMALL)
    with pytest.raises(ValueError, match="spike_ts=0 is out of range"):
        PopSAN(obs_dim=2, act_dim=1, spike_ts=0, compile=False)


def test_fused_adam_trains_the_agent_of_the_per_tensor_loop(small_hyperparams):
    """The hyperparameter file asks the actors' and critics' Adams for the fused kernel (speed): a short SDRL run
    ends with the per-tensor loop's actor and critic, to float rounding (the fused kernel rounds differently)."""
    def run(optimizer_kwargs: dict):
        hp = small_hyperparams(optimizer_kwargs=optimizer_kwargs, compile=False)
        model = agent("sdrl", AoloEnv(AoloConfig(episode_length=20)), 0, hp)
        initial = [p.detach().clone() for p in model.policy.parameters()]
        model.learn(50)
        return model, initial
    assert load_hyperparams()["common"]["optimizer_kwargs"] == {"fused": True}
    (fused, initial), (loop, _) = run({"fused": True}), run({"foreach": False})
    assert isinstance(fused.policy.actor.optimizer, ScaledAdam)
    assert fused.policy.actor.optimizer.defaults["fused"] and fused.policy.critic.optimizer.defaults["fused"]
    assert not loop.policy.actor.optimizer.defaults["fused"]
    changed = 0
    for (name, p), q, before in zip(fused.policy.named_parameters(), loop.policy.parameters(), initial):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5, msg=name)
        changed += not torch.equal(p, before)
    assert changed > 10  # the parameters trained


def test_popsan_policy_honours_the_optimizer_class():
    """SB3's ``optimizer_class`` reaches the actor: its two groups keep the PopSAN's learning-rate scale."""
    env = AoloEnv(AoloConfig(episode_length=20))
    model = SAC(PopSANPolicy, env, learning_rate=1e-3, learning_starts=10, batch_size=8, seed=0,
                policy_kwargs={"optimizer_class": torch.optim.RMSprop, "net_arch": [16],
                               "popsan_kwargs": {"hidden_sizes": (16,), "compile": False}, "snn_lr_scale": 0.25})
    actor_opt = model.policy.actor.optimizer
    assert isinstance(actor_opt, torch.optim.RMSprop) and isinstance(model.policy.critic.optimizer, torch.optim.RMSprop)
    assert [g["lr_scale"] for g in actor_opt.param_groups] == [0.25, 1.0]
    snn = {id(p) for p in model.policy.actor.mu.parameters()}
    assert {id(p) for p in actor_opt.param_groups[0]["params"]} == snn
    model.learn(20)  # it steps
    assert isinstance(SAC(PopSANPolicy, env, seed=0).policy.actor.optimizer, ScaledAdam)  # the default: Adam
