"""PopSAN inside SB3's SAC, TD3 and DDPG: spikes, surrogate gradients, a hand-built forward pass, learning (to the
bit SB3's own TD3 and DDPG steps), saving."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from stable_baselines3 import SAC, TD3

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import AoloEnv
from greenaolo.aolo import popsan
from greenaolo.aolo.popsan import (
    CompileFallbackWarning,
    PopSAN,
    PopSANActor,
    PopSANPolicy,
    PopSANTD3Actor,
    PopSANTD3Policy,
    PopSpikeEncoderRegularSpike,
    ScaledAdam,
    SpikeMLP,
    compile_available,  # noqa: F401 - named in the skipif condition string below
)
from greenaolo.aolo.td3 import AoloDDPG, AoloTD3
from greenaolo.aolo.training import agent, load_hyperparams, settings

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


# PopSAN's deterministic actor: TD3 and DDPG (docs/aolo.md#popsan-deterministic) ---------------------------------

#: Each PopSAN agent with a deterministic actor, its SB3 class and its plain (MLP-actor) twin.
DETERMINISTIC = [("sdrl_td3", AoloTD3, "td3"), ("sdrl_ddpg", AoloDDPG, "ddpg")]  # SB3 updates with the gamma = 0 shortcut


def test_deterministic_actor_is_tanh_of_a_hand_built_popsan():
    torch.manual_seed(6)
    model = TD3(PopSANTD3Policy, AoloEnv(), seed=0,
                policy_kwargs={"net_arch": [16], "popsan_kwargs": {**SMALL, "compile": False}})
    actor = model.policy.actor
    assert isinstance(actor, PopSANTD3Actor) and isinstance(model.policy.actor_target, PopSANTD3Actor)
    assert isinstance(actor.mu, PopSAN) and not hasattr(actor.mu, "weight")  # SB3's MLP is gone
    obs = torch.rand(16, 5) * 2 - 1
    expected = torch.tanh(_hand_forward(actor.mu, obs))
    with torch.no_grad():
        torch.testing.assert_close(actor(obs), expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(model.policy.actor_target(obs), actor(obs), rtol=0, atol=0)  # SB3 copied it
    # SB3's predict scales [-1, 1] to the action space, itself [-1, 1].
    np.testing.assert_allclose(model.predict(obs.numpy(), deterministic=True)[0], expected.numpy(), rtol=1e-5, atol=1e-6)
    snn = [id(p) for p in actor.mu.parameters()]
    assert [[id(p) for p in g["params"]] for g in actor.optimizer.param_groups] == [snn]  # the PopSAN is the actor


def test_deterministic_agents_are_their_plain_twins_with_sdrls_popsan():
    """``sdrl_td3`` and ``sdrl_ddpg``: the same settings as TD3 and DDPG, plus SDRL's PopSAN options."""
    hp = load_hyperparams()
    sdrl = settings(hp, "sdrl")
    for algorithm, _, twin in DETERMINISTIC:
        assert settings(hp, algorithm) == {**settings(hp, twin), "popsan_kwargs": sdrl["popsan_kwargs"],
                                           "snn_lr_scale": sdrl["snn_lr_scale"]}, algorithm
    tuned = load_hyperparams(variant="tuned")  # tuned like every agent (tuned.yaml), its own settings
    assert settings(tuned, "sdrl_td3") != settings(tuned, "td3") and "popsan_kwargs" in settings(tuned, "sdrl_ddpg")


def _plain_twin_with_the_popsans_of(model, twin: str, hp: dict):
    """SB3's own agent of ``twin`` (MLP actor, SB3's optimizer) built with the same settings, with ``model``'s PopSANs
    plugged into its actor and target actor (``nn.Sequential(PopSAN, Tanh)``: SB3's actor applies its ``mu``) and
    ``model``'s critics' weights; the PopSAN's optimizer is SB3's own (``TD3Policy._build``'s line)."""
    plain = agent(twin, AoloEnv(AoloConfig(episode_length=20)), 0, hp)
    assert type(plain.policy.actor).__name__ == "Actor" and type(plain) is type(model)
    for name in ("actor", "actor_target"):
        getattr(plain.policy, name).mu = torch.nn.Sequential(copy.deepcopy(getattr(model.policy, name).mu), torch.nn.Tanh())
    for name in ("critic", "critic_target"):
        getattr(plain.policy, name).load_state_dict(getattr(model.policy, name).state_dict())
    plain.actor.optimizer = plain.policy.optimizer_class(plain.actor.parameters(), lr=plain.lr_schedule(1),
                                                         **plain.policy.optimizer_kwargs)
    return plain


@pytest.mark.parametrize("algorithm, cls, twin", DETERMINISTIC)
def test_deterministic_training_is_sb3s_own_step_to_the_bit(algorithm, cls, twin, small_hyperparams):
    """TD3 and DDPG with the PopSAN policy train as SB3's own TD3 and DDPG whose actor is swapped for the same
    PopSAN: the same actors, targets, critics, exploration and losses, to the bit (learning-rate scale 1: SB3's
    own agent sets one learning rate for actor and critics)."""
    hp = small_hyperparams(compile=False)
    hp[algorithm]["snn_lr_scale"] = 1.0
    ours = agent(algorithm, AoloEnv(AoloConfig(episode_length=20)), 0, hp)
    assert type(ours) is cls and isinstance(ours.policy, PopSANTD3Policy)
    sb3 = _plain_twin_with_the_popsans_of(ours, twin, hp)
    initial = [p.detach().clone() for p in ours.actor.parameters()]
    for model in (ours, sb3):
        model.set_random_seed(0)  # the two were built with different draws (SB3's MLP, the PopSAN)
        model.learn(60)
    assert ours._n_updates == sb3._n_updates == 60 - 20  # gradient steps after the warm-up
    # DDPG: TD3 with no policy delay and its target noise clipped to 0 (SB3's DDPG).
    assert (ours.policy_delay, ours.target_noise_clip) == ((2, 0.5) if cls is AoloTD3 else (1, 0.0))
    for name in ("actor", "actor_target"):
        theirs = list(getattr(sb3.policy, name).mu[0].parameters())
        for (key, p), q in zip(getattr(ours.policy, name).mu.named_parameters(), theirs, strict=True):
            assert torch.equal(p, q), f"{name}.{key}"
    for name in ("critic", "critic_target"):
        theirs = getattr(sb3.policy, name).state_dict()
        for key, value in getattr(ours.policy, name).state_dict().items():
            assert torch.equal(value, theirs[key]), f"{name}.{key}"
    assert (ours.replay_buffer.actions == sb3.replay_buffer.actions).all()
    for key in ("train/actor_loss", "train/critic_loss"):
        assert ours.logger.name_to_value[key] == sb3.logger.name_to_value[key], key
    assert all(not torch.equal(b, p) for b, p in zip(initial, ours.actor.parameters()))  # every PopSAN tensor learned


@pytest.mark.parametrize("algorithm, cls, twin", DETERMINISTIC)
def test_deterministic_popsans_learning_rate_scale_survives_train(algorithm, cls, twin, small_hyperparams):
    """SB3's ``train()`` sets the actor's learning rate to the critics' (1e-3); the PopSAN still steps at 0.1 of
    it: Adam's first step moves a parameter by the learning rate times the sign of its gradient."""
    hp = small_hyperparams(compile=False)
    assert hp[algorithm]["snn_lr_scale"] == 0.1 and settings(hp, algorithm)["learning_rate"] == 1e-3
    model = agent(algorithm, AoloEnv(AoloConfig(episode_length=20)), 0, hp)
    model.learn(20)  # the warm-up only: no update yet
    actor_before = [p.detach().clone() for p in model.actor.parameters()]
    critic_before = [p.detach().clone() for p in model.critic.parameters()]
    for group in model.actor.optimizer.param_groups:
        group["lr"] = 0.5  # SB3 resets it at train()
    model.train(gradient_steps=model.policy_delay, batch_size=16)  # one actor update, policy_delay critic updates
    assert [(g["lr"], g["lr_scale"]) for g in model.actor.optimizer.param_groups] == [(1e-3, 0.1)]
    actor_step = max(float((p.detach() - b).abs().max()) for p, b in zip(model.actor.parameters(), actor_before))
    critic_step = max(float((p.detach() - b).abs().max()) for p, b in zip(model.critic.parameters(), critic_before))
    assert actor_step == pytest.approx(1e-4, rel=1e-3)
    assert critic_step == pytest.approx(1e-3 * model.policy_delay, rel=1e-3)


def test_deterministic_popsan_saves_and_loads_through_gymnasium(tmp_path):
    """A TD3 agent with the PopSAN policy on the registered Gymnasium environment: saved, loaded onto a fresh
    environment, the same actions, targets and optimizer settings; and it trains on. Its policy alone too."""
    import gymnasium

    env = gymnasium.make("greenaolo/Aolo-v0")
    model = TD3(PopSANTD3Policy, env, learning_starts=20, batch_size=16, seed=0,
                policy_kwargs={"popsan_kwargs": {**SMALL, "compile": False}, "net_arch": [32, 32], "snn_lr_scale": 0.25})
    model.learn(60)
    path = model.save(tmp_path / "sdrl_td3") or tmp_path / "sdrl_td3.zip"
    loaded = TD3.load(path, env=gymnasium.make("greenaolo/Aolo-v0"))
    assert isinstance(loaded.policy, PopSANTD3Policy) and isinstance(loaded.policy.actor_target, PopSANTD3Actor)
    assert tuple(loaded.policy.popsan_kwargs["hidden_sizes"]) == (32, 16) and loaded.policy.snn_lr_scale == 0.25
    obs, _ = env.reset(seed=1)
    batch = np.random.default_rng(0).uniform(-1, 1, (32, 5)).astype(np.float32)
    for x in (obs, batch):
        np.testing.assert_array_equal(model.predict(x, deterministic=True)[0], loaded.predict(x, deterministic=True)[0])
    for p, q in zip(model.policy.parameters(), loaded.policy.parameters(), strict=True):
        assert torch.equal(p, q)
    for p, q in zip(model.actor_target.parameters(), loaded.actor_target.parameters(), strict=True):
        assert torch.equal(p, q)
    optimizer = loaded.actor.optimizer
    assert isinstance(optimizer, ScaledAdam) and [g["lr_scale"] for g in optimizer.param_groups] == [0.25]
    assert optimizer.state_dict()["state"] and len(optimizer.state) == len(list(loaded.actor.parameters()))  # Adam's moments
    loaded.learn(20, reset_num_timesteps=False)
    assert loaded.num_timesteps == 80 and loaded._n_updates == model._n_updates + 20
    # The policy alone (SB3's BasePolicy.save: rebuilt from its constructor parameters).
    model.policy.save(tmp_path / "policy.pth")
    policy = PopSANTD3Policy.load(tmp_path / "policy.pth")
    assert tuple(policy.popsan_kwargs["hidden_sizes"]) == (32, 16) and policy.snn_lr_scale == 0.25
    np.testing.assert_array_equal(policy.predict(batch, deterministic=True)[0], model.predict(batch, deterministic=True)[0])


@pytest.mark.parametrize("algorithm, cls, twin", DETERMINISTIC)
def test_deterministic_agents_train_from_the_command_line(algorithm, cls, twin, tmp_path, small_hyperparams):
    """``greenaolo aolo train sdrl_td3`` (and ``sdrl_ddpg``): a few hundred steps, a run on disk, its model loads."""
    import yaml
    from typer.testing import CliRunner

    from greenaolo.aolo.runs import load_model
    from greenaolo.cli import app
    from greenaolo.io import read_dataset

    hp = small_hyperparams(learning_starts=50, compile=False,
                           profile={"gradient_updates": 300, "eval_every": 100, "n_eval": 50, "seeds": [0]})
    hp_path = tmp_path / "hp.yaml"
    hp_path.write_text(yaml.safe_dump(hp))
    command = ["aolo", "train", algorithm, "3", "--profile", "quick", "--runs-dir", str(tmp_path),
               "--hyperparams", str(hp_path), "--no-progress"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    ds = read_dataset(tmp_path / f"{algorithm}_default_seed3.nc")
    assert ds.attrs["algorithm"] == algorithm and list(ds.step.values) == [0, 100, 200, 300]
    assert np.isfinite(ds.curve_carbon_g).all() and float(ds.gap_to_oracle) > -1e-9
    model = load_model(tmp_path, algorithm, 3)
    assert type(model) is cls and isinstance(model.policy, PopSANTD3Policy) and model._n_updates == 300 and model.num_timesteps == 350
    assert not any(m.compile for m in model.policy.modules() if isinstance(m, PopSAN))  # evaluated eagerly

