"""Single-branch distilled students (relate/blocks/students.py): every method x segmenter, tiny."""

from __future__ import annotations

import math

import pytest
import torch

from relate.blocks.distill import LOSSES, student_losses
from relate.blocks.students import StudentModel, StudentSpec, build_student_teacher
from relate.segmenters import SEGMENTERS

C = 11
TINY = {  # options that keep each segmenter small
    "mstcn": {"segmenter.num_layers": 2, "segmenter.num_f_maps": 8},
    "asformer": {"segmenter.num_layers": 2, "segmenter.num_f_maps": 8},
    "fact": {
        "segmenter.a_layers": 1,
        "segmenter.f_layers": 2,
        "segmenter.u_f_layers": 2,
        "segmenter.f_dim": 16,
        "segmenter.a_dim": 16,
    },
}


@pytest.mark.parametrize("segmenter", list(SEGMENTERS))
@pytest.mark.parametrize("method", student_losses())
def test_forward_backward_teacher_untouched(segmenter: str, method: str) -> None:
    spec = StudentSpec.from_options(method, segmenter, "gtea", C, **TINY.get(segmenter, {}))
    torch.manual_seed(0)
    student = StudentModel(spec)
    teacher = build_student_teacher(spec).eval().requires_grad_(False)
    g = torch.Generator().manual_seed(1)
    x, x_flow = torch.randn(1, 1024, 50, generator=g), torch.randn(1, 1024, 50, generator=g)
    y = torch.randint(0, C, (1, 50), generator=g)
    with torch.no_grad():
        t_out = teacher(x_flow)
    terms = student.loss(student(x), y, None, teacher_output=t_out)
    assert set(terms) == {"seg", "distill", "total"}
    assert all(math.isfinite(float(v.detach())) for v in terms.values())
    assert float(terms["distill"].detach()) > 0
    assert torch.allclose(terms["total"], terms["seg"] + spec.loss_weight * terms["distill"])
    terms["total"].backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in student.parameters())
    assert all(p.grad is None for p in teacher.parameters())
    assert spec.loss_weight == LOSSES[method].weight == (50.0 if method == "mars" else 0.5)
    probs = student.probabilities(student(x))
    assert probs.shape == (1, C, 50)


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="method"):
        StudentSpec("relate", "mstcn", "gtea", C)
    with pytest.raises(ValueError, match="depth"):
        StudentSpec.from_options("kd", "mstcn", "gtea", C, single_branch_depth="deep")
    with pytest.raises(ValueError, match="unknown option"):
        StudentSpec.from_options("kd", "mstcn", "gtea", C, aga="none")
    with pytest.raises(ValueError, match="through depth"):
        StudentSpec.from_options(
            "kd", "mstcn", "gtea", C, single_branch_depth="relate", **{"segmenter.num_stages": 2}
        )
    assert StudentSpec.from_options(
        "kd", "mstcn", "gtea", C, single_branch_depth="relate"
    ).segmenter_overrides() == {"num_stages": 3}
