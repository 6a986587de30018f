"""Compiled kernels are cached on disk, so a second process starts without compiling."""

import json
import os
import subprocess
import sys

import oncoimmune as oi

SCRIPT = """
import json, oncoimmune as oi
from oncoimmune.solve._compile import kernel_for
oi.simulate("kirschner_panetta_1998", t_end=5.0)
stats = kernel_for(oi.get_model("kirschner_panetta_1998")).solve_batch.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}))
"""


def test_second_process_loads_the_compiled_kernel_from_disk():
    oi.simulate("kirschner_panetta_1998", t_end=5.0)  # make sure this session compiled (or loaded) it
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, env=dict(os.environ), timeout=600
    )
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert stats == {"hits": 1, "misses": 0}


def test_a_running_process_keeps_its_kernel_when_the_model_file_is_edited(monkeypatch):
    """A fit left running while someone edits the model's source keeps solving the model it imported:
    once a process has the kernel of an rhs function, it does not read the source file again."""
    import inspect

    from oncoimmune.solve import _compile

    model = oi.get_model("kirschner_panetta_1998")
    first = _compile.kernel_for(model)
    assert _compile.kernel_for(model, jacobian="fd") is not first  # the memo keeps kernels apart

    def edited(obj):
        raise AssertionError("the model source was read again")

    monkeypatch.setattr(inspect, "getsource", edited)
    assert _compile.kernel_for(model) is first
    assert _compile.kernel_for(model, jacobian="auto", method="radau5") is first
