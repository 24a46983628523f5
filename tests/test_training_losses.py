"""Each loss against a slow, obviously-correct reference written with explicit loops."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reelscope.training.losses import (AVSimCLRLoss, BYOLLoss, CrossModalInfoNCE, MoCoLoss,
                                       NNCLRLoss, NTXentLoss, SimSiamLoss)

torch.set_num_threads(1)


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a @ b) / (a.norm() * b.norm()))


def ref_ntxent(z1, z2, tau, mask=None):
    n = z1.shape[0]
    z = torch.cat([z1, z2]).double()
    valid = [True] * (2 * n) if mask is None else [bool(m) for m in mask] * 2
    total, count = 0.0, 0
    for i in range(2 * n):
        if not valid[i]:
            continue
        pos = (i + n) % (2 * n)
        denom = sum(math.exp(_cos(z[i], z[k]) / tau) for k in range(2 * n) if k != i and valid[k])
        total += -math.log(math.exp(_cos(z[i], z[pos]) / tau) / denom)
        count += 1
    return total / count


def ref_infonce(v, a, tau, mask=None):
    n = v.shape[0]
    valid = [True] * n if mask is None else [bool(m) for m in mask]
    v, a = v.double(), a.double()
    va = av = 0.0
    count = 0
    for i in range(n):
        if not valid[i]:
            continue
        count += 1
        va += -math.log(math.exp(_cos(v[i], a[i]) / tau)
                        / sum(math.exp(_cos(v[i], a[j]) / tau) for j in range(n) if valid[j]))
        av += -math.log(math.exp(_cos(a[i], v[i]) / tau)
                        / sum(math.exp(_cos(a[i], v[j]) / tau) for j in range(n) if valid[j]))
    return 0.5 * (va / count + av / count)


@pytest.mark.parametrize("tau", [0.07, 0.5])
def test_ntxent_matches_reference(tau):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert NTXentLoss(tau)(z1, z2).item() == pytest.approx(ref_ntxent(z1, z2, tau), rel=1e-5)


def test_ntxent_mask_drops_samples_as_anchors_and_negatives():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    mask = torch.tensor([1, 0, 1, 1, 0, 1, 1], dtype=torch.bool)
    got = NTXentLoss(0.2)(z1, z2, mask).item()
    assert got == pytest.approx(ref_ntxent(z1, z2, 0.2, mask), rel=1e-5)
    # ... which is the loss of the kept rows alone.
    assert got == pytest.approx(NTXentLoss(0.2)(z1[mask], z2[mask]).item(), rel=1e-5)


def test_ntxent_lower_when_views_agree_and_temperature_matters():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(8, 16, generator=g)
    agree = NTXentLoss(0.1)(z, z + 0.01 * torch.randn(8, 16, generator=g))
    random = NTXentLoss(0.1)(z, torch.randn(8, 16, generator=g))
    assert agree < random
    assert NTXentLoss(0.1)(z, z).item() != pytest.approx(NTXentLoss(1.0)(z, z).item())
    with pytest.raises(ValueError):
        NTXentLoss(0.0)


def test_ntxent_gradients_finite_with_everything_masked():
    z1 = torch.randn(3, 4, requires_grad=True)
    loss = NTXentLoss(0.1)(z1, torch.randn(3, 4), torch.zeros(3, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(z1.grad).all()


def test_cross_modal_infonce_matches_reference_with_mask():
    g = torch.Generator().manual_seed(3)
    v, a = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    mask = torch.tensor([1, 1, 0, 1, 1, 0], dtype=torch.bool)
    assert CrossModalInfoNCE(0.1)(v, a).item() == pytest.approx(ref_infonce(v, a, 0.1), rel=1e-5)
    assert CrossModalInfoNCE(0.3)(v, a, mask).item() == pytest.approx(ref_infonce(v, a, 0.3, mask), rel=1e-5)


def test_av_simclr_is_the_weighted_sum_of_its_terms():
    g = torch.Generator().manual_seed(4)
    v1, v2, a1, a2 = (torch.randn(5, 6, generator=g) for _ in range(4))
    mask = torch.tensor([1, 0, 1, 1, 1], dtype=torch.bool)
    out = AVSimCLRLoss(0.1, 0.2, w_video=0.5, w_audio=2.0, w_cross=3.0)(v1, v2, a1, a2, mask)
    video = ref_ntxent(v1, v2, 0.1)
    audio = ref_ntxent(a1, a2, 0.1, mask)
    cross = 0.5 * (ref_infonce(v1, a1, 0.2, mask) + ref_infonce(v2, a2, 0.2, mask))
    assert out["video"].item() == pytest.approx(video, rel=1e-5)
    assert out["audio"].item() == pytest.approx(audio, rel=1e-5)
    assert out["cross"].item() == pytest.approx(cross, rel=1e-5)
    assert out["loss"].item() == pytest.approx(0.5 * video + 2.0 * audio + 3.0 * cross, rel=1e-5)


def test_moco_matches_reference_and_queue_is_fifo():
    g = torch.Generator().manual_seed(5)
    loss = MoCoLoss(dim=4, queue_size=6, temperature=0.2)
    q, k = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    queue = loss.queue.clone().double()
    ref = 0.0
    for i in range(3):
        pos = math.exp(_cos(q[i].double(), k[i].double()) / 0.2)
        neg = sum(math.exp(_cos(q[i].double(), queue[j]) / 0.2) for j in range(6))
        ref += -math.log(pos / (pos + neg))
    assert loss(q, k).item() == pytest.approx(ref / 3, rel=1e-5)

    keys = torch.randn(4, 4, generator=g)
    loss.enqueue(keys[:2])
    loss.enqueue(keys[2:], mask=torch.tensor([True, False]))
    assert int(loss.ptr) == 3
    torch.testing.assert_close(loss.queue[:3], F.normalize(keys[:3], dim=1))
    torch.testing.assert_close(loss.queue[3:].double(), queue[3:])


def test_moco_never_uses_a_videos_own_queued_keys_as_negatives():
    g = torch.Generator().manual_seed(7)
    loss = MoCoLoss(dim=4, queue_size=6, temperature=0.2)
    loss.enqueue(torch.randn(6, 4, generator=g), ids=torch.tensor([10, 11, 12, 10, 13, 14]))
    assert loss.queue_ids.tolist() == [10, 11, 12, 10, 13, 14]
    q, k = torch.randn(2, 4, generator=g), torch.randn(2, 4, generator=g)
    ids = torch.tensor([10, 99])
    queue = loss.queue.clone().double()
    ref = 0.0
    for i in range(2):
        pos = math.exp(_cos(q[i].double(), k[i].double()) / 0.2)
        neg = sum(math.exp(_cos(q[i].double(), queue[j]) / 0.2) for j in range(6)
                  if int(loss.queue_ids[j]) != int(ids[i]))
        ref += -math.log(pos / (pos + neg))
    assert loss(q, k, ids=ids).item() == pytest.approx(ref / 2, rel=1e-5)
    assert loss(q, k).item() != pytest.approx(ref / 2, rel=1e-3)  # without ids, video 10's keys count
    # A checkpoint from before ids were kept still loads; its keys belong to no video.
    state = {k: v for k, v in loss.state_dict().items() if k != "queue_ids"}
    fresh = MoCoLoss(dim=4, queue_size=6)
    fresh.load_state_dict(state)
    assert (fresh.queue_ids == -1).all()


def ref_nnclr(z1, z2, ids, support, support_ids, tau):
    """NNCLR with explicit loops: swap each anchor for its most similar support row of another
    video (itself when there is none), then pick the other view out of the batch's."""
    n = z1.shape[0]
    total = 0.0
    for anchors, others in ((z1, z2), (z2, z1)):
        for i in range(n):
            best, best_sim = anchors[i].double() / anchors[i].double().norm(), -2.0
            for s, sid in zip(support.double(), support_ids.tolist()):
                if sid >= 0 and sid != int(ids[i]) and _cos(anchors[i].double(), s) > best_sim:
                    best, best_sim = s / s.norm(), _cos(anchors[i].double(), s)
            logits = [float(best @ others[k].double() / others[k].double().norm()) / tau for k in range(n)]
            total += -logits[i] + math.log(sum(math.exp(x) for x in logits))
    return total / (2 * n)


def test_nnclr_matches_reference_never_picks_the_videos_own_rows_and_grads_reach_only_the_other_view():
    g = torch.Generator().manual_seed(11)
    loss = NNCLRLoss(dim=4, support_size=5, temperature=0.2)
    z1 = torch.randn(3, 4, generator=g, requires_grad=True)
    z2 = torch.randn(3, 4, generator=g, requires_grad=True)
    ids = torch.tensor([0, 1, 2])
    # Empty support: every anchor is its own view, which is plain cross-view InfoNCE.
    empty = loss(z1, z2, ids).item()
    assert empty == pytest.approx(ref_nnclr(z1.detach(), z2.detach(), ids, loss.support, loss.support_ids, 0.2), rel=1e-5)
    # Video 0's own older row is the closest to its anchor, and must be skipped.
    rows = torch.cat([z1.detach()[:1] * 3, torch.randn(3, 4, generator=g)])
    loss.enqueue(rows, torch.tensor([0, 5, 6, 7]))
    assert loss.support_ids.tolist() == [0, 5, 6, 7, -1]
    own = F.normalize(rows[0], dim=0)
    assert torch.allclose(loss.nearest(z1, torch.tensor([99, 1, 2]))[0], own)  # it would be picked
    assert not torch.allclose(loss.nearest(z1, ids)[0], own)
    value = loss(z1, z2, ids)
    assert value.item() == pytest.approx(ref_nnclr(z1.detach(), z2.detach(), ids, loss.support, loss.support_ids, 0.2), rel=1e-5)
    assert value.item() != pytest.approx(empty, rel=1e-3)
    value.backward()
    assert z1.grad.abs().sum() > 0 and z2.grad.abs().sum() > 0  # each view is the "other" once
    # The ring buffer wraps: the sixth row replaces the oldest.
    loss.enqueue(torch.randn(2, 4, generator=g), torch.tensor([8, 9]))
    assert loss.support_ids.tolist() == [9, 5, 6, 7, 8] and int(loss.ptr) == 1


def test_byol_and_simsiam_match_reference():
    g = torch.Generator().manual_seed(6)
    p, z = torch.randn(5, 8, generator=g, requires_grad=True), torch.randn(5, 8, generator=g, requires_grad=True)
    pd, zd = p.detach(), z.detach()
    byol_ref = sum(float(((F.normalize(pd[i], dim=0) - F.normalize(zd[i], dim=0)) ** 2).sum()) for i in range(5)) / 5
    simsiam_ref = -sum(_cos(p[i].detach(), z[i].detach()) for i in range(5)) / 5
    assert BYOLLoss()(p, z).item() == pytest.approx(byol_ref, rel=1e-5)
    out = SimSiamLoss()(p, z)
    assert out.item() == pytest.approx(simsiam_ref, rel=1e-5)
    out.backward()
    assert z.grad is None  # the stop-gradient: no gradient into the target branch
    mask = torch.tensor([1, 1, 0, 0, 1], dtype=torch.bool)
    assert SimSiamLoss()(p, z, mask).item() == pytest.approx(SimSiamLoss()(p[mask], z[mask]).item(), rel=1e-6)
