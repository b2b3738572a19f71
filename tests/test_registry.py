"""The one small Registry class and its groups."""
import pytest

from bench.registry import Registry, RegistryError


def make():
    reg = Registry("widget", required_meta=("tasks",))

    @reg.register("Alpha", tasks={"ivf"}, aliases=("a",))
    def alpha():
        return 1

    reg.add("beta", object(), tasks={"mff"}, available=False, reason="not yet")
    reg.add_group("all-ivf", lambda r, ctx: [e.name for e in r if ctx.get("task") in e["tasks"]],
                  description="fits the task", note="more come later")
    return reg


def test_register_lookup_aliases_case_insensitive():
    reg = make()
    assert reg.get("ALPHA").obj() == 1 and reg.get("a").name == "Alpha"
    assert "alpha" in reg and "gamma" not in reg
    assert reg.names() == ["Alpha", "beta"]
    assert not reg.get("beta").available and reg.get("beta").reason == "not yet"


def test_errors_name_what_is_known():
    reg = make()
    with pytest.raises(RegistryError, match="unknown widget 'gamma'. Known: Alpha, beta"):
        reg.get("gamma")
    with pytest.raises(RegistryError, match="already registered"):
        reg.add("alpha", 1, tasks=set())
    with pytest.raises(RegistryError, match="missing metadata: tasks"):
        reg.add("delta", 1)


def test_groups_expand_with_context_and_notes():
    reg = make()
    names, notes = reg.expand(["all-ivf", "beta", "alpha"], {"task": "ivf"})
    assert names == ["Alpha", "beta"]  # duplicates removed, order kept
    assert notes == ["all-ivf: more come later"]
    names, notes = reg.expand(["all-ivf"], {"task": "mef"})
    assert names == [] and any("no registered widget fits task=mef" in n for n in notes)


def test_select_by_metadata():
    reg = make()
    assert [e.name for e in reg.select(tasks="mff")] == ["beta"]


def test_suite_registries_have_the_harness_entries():
    import methods  # noqa: F401
    import tasks  # noqa: F401
    from bench import metrics  # noqa: F401
    from bench.registry import METHODS, METRICS, TASKS
    assert {"average", "max", "smc"} <= {n.lower() for n in METHODS.names()}
    assert {"EN", "SD", "SF"} <= set(METRICS.names())
    assert METRICS.get("spatial_frequency").name == "SF"
    assert METRICS.get("entropy").meta["direction"] == "higher"
    assert METHODS.get("smc").available and METHODS.get("smc").meta["needs"] == ("weights",)
    assert {"fusion", "detect", "segment"} <= set(TASKS.names())
    names, _ = METHODS.expand(["baselines"], {"task": "mef"})
    assert {"average", "max", "mertens", "gff", "spd_mef"} <= set(names) and "lp" not in names  # lp: no mef


def test_alias_clashes_are_refused():
    reg = make()
    with pytest.raises(RegistryError, match="alias"):
        reg.add("gamma", 1, tasks=set(), aliases=("a",))  # 'a' already means Alpha
    with pytest.raises(RegistryError, match="alias"):
        reg.add("delta", 1, tasks=set(), aliases=("beta",))
