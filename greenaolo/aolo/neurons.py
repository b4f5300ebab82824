"""PopSAN's spiking neurons: the encoder's regular spikes and the current-based LIF neuron, in their reference
form (one definition of each formula) and the fast paths that give the same bits (``docs/aolo.md#popsan``).

:mod:`greenaolo.aolo.popsan` builds the networks and the SB3 policy from these.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ENCODER_REGULAR_VTH", "NEURON_CDECAY", "NEURON_VDECAY", "NEURON_VTH", "SPIKE_PSEUDO_GRAD_WINDOW",
           "lif_step"]

# The original module-level constants (docs/aolo.md#popsan-constants).
ENCODER_REGULAR_VTH = 0.999
NEURON_VTH = 0.5
NEURON_CDECAY = 0.5
NEURON_VDECAY = 0.75
SPIKE_PSEUDO_GRAD_WINDOW = 0.5


class _RegularSpike(torch.autograd.Function):
    """Encoder spike ``[v > 0.999]`` with a straight-through gradient (``docs/aolo.md#popsan-encoder``)."""

    @staticmethod
    def forward(ctx, volt: torch.Tensor) -> torch.Tensor:
        return volt.gt(ENCODER_REGULAR_VTH).to(volt.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class _RectSpike(torch.autograd.Function):
    """LIF spike ``[v > 0.5]`` with the pseudo-gradient ``1[|v - 0.5| < 0.5]`` (``docs/aolo.md#popsan-lif``)."""

    @staticmethod
    def forward(ctx, volt: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(volt)
        return volt.gt(NEURON_VTH).to(volt.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (volt,) = ctx.saved_tensors
        return grad_output * ((volt - NEURON_VTH).abs() < SPIKE_PSEUDO_GRAD_WINDOW).to(grad_output.dtype)


class _RegularSpikeTrain(torch.autograd.Function):
    """The encoder's whole spike train in one autograd node (the fast path of :class:`_RegularSpike`).

    Forward is the plain loop's arithmetic, op for op, without recording a graph; backward is the chain
    rule of that loop under the straight-through estimator, written out: with ``u_t = v_{t-1} + A`` and
    ``v_t = u_t - 0.999 o_t``, ``dL/du_t = G_t + (1 - 0.999) dL/du_{t+1}`` and ``dL/dA = sum_t dL/du_t``.
    """

    @staticmethod
    def forward(ctx, stimulus: torch.Tensor, spike_ts: int) -> torch.Tensor:
        volt = torch.zeros_like(stimulus)
        out = stimulus.new_empty((spike_ts, *stimulus.shape))
        for t in range(spike_ts):
            volt.add_(stimulus)
            spike = torch.gt(volt, ENCODER_REGULAR_VTH, out=out[t])
            volt.sub_(spike * ENCODER_REGULAR_VTH)
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        grad_u = torch.zeros_like(grad_out[0])
        total = torch.zeros_like(grad_out[0])
        for t in range(grad_out.shape[0] - 1, -1, -1):
            # d(volt_t)/d(u_t) = 1 - 0.999 (straight-through spike); volt_t feeds u_{t+1}.
            grad_u = grad_out[t] + grad_u * (1.0 - ENCODER_REGULAR_VTH)
            total = total + grad_u
        return total, None


class _LIFTrain(torch.autograd.Function):
    """One current-based LIF layer over all timesteps in one autograd node (fast path, ``docs/aolo.md#popsan-lif``).

    Input: the synaptic input ``x_t = W o_pre,t + b`` for every step, shape (T, batch, neurons). Forward
    computes what the plain loop computes (``c <- 0.5 c + x``, ``v <- 0.75 v (1 - o) + c``,
    ``o = [v > 0.5]``), in place and without a graph; every rounding is the plain loop's, so the spikes
    are the same bits. Backward is the chain rule autograd applies to the plain loop, including the
    reset path through ``(1 - o)``: going back in time with ``g_t = [|v_t - 0.5| < 0.5]`` the rectangular
    pseudo-gradient,
    ``dL/do_t = G_t - 0.75 v_t dL/dv_{t+1}``, ``dL/dv_t = g_t dL/do_t + 0.75 (1 - o_t) dL/dv_{t+1}``,
    ``dL/dc_t = dL/dv_t + 0.5 dL/dc_{t+1}`` and ``dL/dx_t = dL/dc_t``.
    """

    @staticmethod
    def forward(ctx, syn: torch.Tensor) -> torch.Tensor:
        # Spikes are written as floats straight from the comparison (``torch.gt(..., out=float)``):
        # boolean masks and ``masked_fill_`` cost ~10x a float operation on CPU.
        current = torch.zeros_like(syn[0])
        volts = torch.empty_like(syn)
        spikes = torch.empty_like(syn)
        rest = torch.empty_like(syn[0])
        for t in range(syn.shape[0]):
            torch.add(syn[t], current, alpha=NEURON_CDECAY, out=current)  # 0.5 c + x (0.5 c is exact)
            volt = volts[t]
            if t == 0:
                volt.copy_(current)
            else:  # (0.75 v) (1 - o) + c, in the plain loop's order
                torch.mul(volts[t - 1], NEURON_VDECAY, out=volt)
                volt.mul_(torch.sub(1.0, spikes[t - 1], out=rest)).add_(current)
            torch.gt(volt, NEURON_VTH, out=spikes[t])
        ctx.save_for_backward(volts, spikes)
        return spikes

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> torch.Tensor:
        volts, spikes = ctx.saved_tensors
        window = torch.lt(torch.sub(volts, NEURON_VTH).abs_(), SPIKE_PSEUDO_GRAD_WINDOW, out=torch.empty_like(volts))
        keep = torch.sub(1.0, spikes).mul_(NEURON_VDECAY)  # dv_{t+1}/dv_t = 0.75 (1 - o_t)
        grad_syn = torch.empty_like(grad_out)
        last = grad_out.shape[0] - 1
        grad_v = grad_out[last] * window[last]
        grad_syn[last] = grad_v
        for t in range(last - 1, -1, -1):
            grad_o = torch.addcmul(grad_out[t], grad_v, volts[t], value=-NEURON_VDECAY)
            grad_v = torch.addcmul(grad_o.mul_(window[t]), grad_v, keep[t])
            torch.add(grad_v, grad_syn[t + 1], alpha=NEURON_CDECAY, out=grad_syn[t])
        return grad_syn


def _encoder_loop(stimulus: torch.Tensor, spike_ts: int) -> torch.Tensor:
    """Original encoder loop (``docs/aolo.md#popsan-encoder``), spikes time-major, shape (spike_ts, batch, fields)."""
    volt = torch.zeros_like(stimulus)
    spikes = []
    for _ in range(spike_ts):
        volt = volt + stimulus
        spike = _RegularSpike.apply(volt)
        volt = volt - spike * ENCODER_REGULAR_VTH
        spikes.append(spike)
    return torch.stack(spikes, dim=0)


def lif_step(current: torch.Tensor, volt: torch.Tensor, spike: torch.Tensor,
             syn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of a current-based LIF neuron, the one definition of its formulas (``docs/aolo.md#popsan-lif``):
    ``c <- 0.5 c + x``, ``v <- 0.75 v (1 - o) + c``, ``o = [v > 0.5]`` with the rectangular pseudo-gradient.
    The reference loops call it; :class:`_LIFTrain` (the fast path) does the same arithmetic in place, in the
    same order, and is tested to give the same bits."""
    current = current * NEURON_CDECAY + syn
    volt = volt * NEURON_VDECAY * (1.0 - spike) + current
    return current, volt, _RectSpike.apply(volt)


def _lif_loop(syn: torch.Tensor) -> torch.Tensor:
    """One LIF layer over all timesteps (:func:`lif_step`); ``syn`` (T, batch, neurons) is the layer's
    synaptic input."""
    current = torch.zeros_like(syn[0])
    volt = torch.zeros_like(syn[0])
    spike = torch.zeros_like(syn[0])
    spikes = []
    for t in range(syn.shape[0]):
        current, volt, spike = lif_step(current, volt, spike, syn[t])
        spikes.append(spike)
    return torch.stack(spikes, dim=0)


def _layer_major_rates(stimulus: torch.Tensor, spike_ts: int, weights: Sequence[torch.Tensor],
                       biases: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Encoder spikes, then layer by layer one matrix product and one LIF recurrence over all timesteps:
    the output population's firing rate and each layer's spike count. What :func:`torch.compile` fuses."""
    pre = _encoder_loop(stimulus, spike_ts)
    counts = []
    for weight, bias in zip(weights, biases):
        pre = _lif_loop(nn.functional.linear(pre, weight, bias))
        counts.append(pre.detach().sum())
    return pre.sum(dim=0) / spike_ts, counts
