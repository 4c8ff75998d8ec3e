import math

import pytest

from ssr_runtime.advantages import group_advantages, injector_reward, solver_reward


def test_solver_group_matches_hand_computed_values():
    # One bug, four solver attempts: solved, failed, failed, failed.
    # mean = (1 - 1 - 1 - 1) / 4 = -0.5; population std = sqrt((1.5^2 + 3 * 0.5^2) / 4) = sqrt(0.75)
    res = group_advantages(["solve:b"] * 4, [1, -1, -1, -1], ["solver"] * 4)
    std = math.sqrt(0.75)
    expected = [1.5 / std, -0.5 / std, -0.5 / std, -0.5 / std]  # 1.7320..., -0.5773...
    assert res.advantages == pytest.approx(expected, rel=1e-5)
    assert res.advantages[0] == pytest.approx(1.7320508, rel=1e-5)
    assert res.advantages[1] == pytest.approx(-0.5773503, rel=1e-5)
    assert sum(res.advantages) == pytest.approx(0.0, abs=1e-9)
    g = res.groups["solve:b"]
    assert (g.size, g.mean, g.skipped) == (4, -0.5, False)
    assert g.std == pytest.approx(std)


def test_injector_group_with_paper_rewards():
    # Three proposals of one round: invalid (-1), valid with solve rate 0.25 (1 - 1.8 * 0.25 = 0.55),
    # valid but never solved (-0.8).
    rs = [injector_reward(False, 0.0), injector_reward(True, 0.25), injector_reward(True, 0.0)]
    assert rs == pytest.approx([-1.0, 0.55, -0.8])
    res = group_advantages(["inject:0"] * 3, rs, ["injector"] * 3)
    mean = (-1.0 + 0.55 - 0.8) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in rs) / 3)
    assert res.advantages == pytest.approx([(r - mean) / std for r in rs], rel=1e-5)
    # Without std normalisation (Dr. GRPO style): r - mean.
    res2 = group_advantages(["inject:0"] * 3, rs, ["injector"] * 3, std_norm=False)
    assert res2.advantages == pytest.approx([r - mean for r in rs])


def test_zero_variance_groups_are_skipped_and_counted():
    groups = ["solve:a"] * 3 + ["solve:b"] * 3 + ["solve:c"] * 2 + ["inject:0"] * 2 + ["inject:1"]
    rewards = [1, 1, 1, -1, -1, -1, 1, -1, -0.8, -0.8, 0.55]
    roles = ["solver"] * 8 + ["injector"] * 3
    res = group_advantages(groups, rewards, roles, baseline_roles=())
    assert res.n_groups == 5
    # all-solved, all-failed, identical injector rewards, and a group of one carry no signal
    assert res.zero_variance_groups == 4
    assert res.by_role() == {"solver": {"groups": 3, "zeroVarianceGroups": 2, "baselineGroups": 0},
                             "injector": {"groups": 2, "zeroVarianceGroups": 2, "baselineGroups": 0}}
    assert res.trainable == [False] * 6 + [True, True] + [False] * 3
    assert res.advantages[:6] == [0.0] * 6 and res.advantages[8:] == [0.0] * 3
    assert res.advantages[6:8] == pytest.approx([1.0, -1.0], rel=1e-5)
    # With the injector's run baseline (the default), its two groups are scored against each other.
    res = group_advantages(groups, rewards, roles)
    assert res.zero_variance_groups == 2
    assert res.by_role()["injector"] == {"groups": 2, "zeroVarianceGroups": 0, "baselineGroups": 2}
    assert res.advantages[8] == res.advantages[9] < 0 < res.advantages[10]


def test_groups_are_independent_of_order_and_each_other():
    a = group_advantages(["g1", "g2", "g1", "g2"], [1.0, 0.0, -1.0, 10.0])
    assert a.advantages == pytest.approx([1.0, -1.0, -1.0, 1.0], rel=1e-5)


def test_reward_functions():
    assert solver_reward(True) == 1.0 and solver_reward(False) == -1.0
    assert injector_reward(False, 0.5) == -1.0
    assert injector_reward(True, 0.0) == -0.8 and injector_reward(True, 1.0) == -0.8
    assert injector_reward(True, 0.5) == pytest.approx(1 - 1.8 * 0.5)
    assert injector_reward(True, 0.5, alpha=0.5) == pytest.approx(0.25)


def test_injector_group_of_one_is_scored_against_the_run_baseline():
    # A real session: one proposal per round, each in its own group (rounds 0..3), rewards differ.
    rs = [-1.0, 0.55, -0.8, 0.1]
    groups = [f"inject:{i}" for i in range(4)]
    res = group_advantages(groups, rs, ["injector"] * 4)
    assert res.zero_variance_groups == 0
    assert res.by_role()["injector"]["baselineGroups"] == 4
    m = sum(rs) / 4
    s = math.sqrt(sum((x - m) ** 2 for x in rs) / 4)
    for i, r in enumerate(rs):
        b = sum(x for j, x in enumerate(rs) if j != i) / 3  # leave-group-out: own reward not in b
        assert res.advantages[i] == pytest.approx((r - b) / s, rel=1e-5)
    # Two rounds are enough: a valid proposal and an invalid one.
    two = group_advantages(["inject:0", "inject:1"], [0.1, -1.0], ["injector"] * 2)
    assert two.trainable == [True, True] and two.advantages[0] > 0 > two.advantages[1]
    assert res.advantages[1] > 0 > res.advantages[0]
    # The solver keeps plain GRPO: a one-attempt group carries nothing.
    solo = group_advantages(["solve:a", "solve:b"], [1.0, -1.0], ["solver"] * 2)
    assert solo.trainable == [False, False]


def test_excluded_records_count_in_the_baseline_but_get_no_advantage():
    rs = [-1.0, 0.55, -0.8]
    res = group_advantages(["inject:0", "inject:1", "inject:2"], rs, ["injector"] * 3, include=[False, True, True])
    assert res.trainable == [False, True, True]
    assert res.advantages[0] == 0.0 and res.n_groups == 2
