"""CTCAE v5.0 and ASTCT grading functions against their published definitions (clinical.md §4.1-4.2)."""

import numpy as np
import pytest

from oncoimmune import ValidationError
from oncoimmune.toxicity.grading import (
    astct_crs_grade,
    astct_icans_grade,
    grade_adl_term,
    grade_alt,
    grade_anaemia,
    grade_bilirubin,
    grade_diarrhoea,
    grade_neutrophils,
    grade_platelets,
    grade_pneumonitis,
    grade_rash_maculopapular,
    hypoxia_support,
)


@pytest.mark.parametrize(
    ("x_uln", "grade"),
    # CTCAE v5.0 ALT increased, baseline normal: G1 >ULN-3.0, G2 >3.0-5.0, G3 >5.0-20.0, G4 >20.0 x ULN
    [(0.8, 0), (1.0, 0), (1.01, 1), (3.0, 1), (3.01, 2), (5.0, 2), (5.01, 3), (20.0, 3), (20.01, 4), (60.0, 4)],
)
def test_alt_grade_follows_multiples_of_uln(x_uln, grade):
    assert grade_alt(x_uln) == grade


def test_alt_grade_with_abnormal_baseline_uses_multiples_of_baseline():
    # CTCAE v5.0: if baseline abnormal, G1 is 1.5-3.0 x baseline (clinical.md §4.1)
    assert grade_alt(2.5, baseline_x_uln=2.0) == 0  # 1.25 x baseline
    assert grade_alt(3.0, baseline_x_uln=2.0) == 1  # 1.5 x baseline
    assert grade_alt(8.0, baseline_x_uln=2.0) == 2  # 4 x baseline
    assert grade_alt(12.0, baseline_x_uln=2.0) == 3  # 6 x baseline


def test_alt_grade_is_vectorised():
    assert grade_alt(np.array([1.0, 4.0, 30.0])).tolist() == [0, 2, 4]


@pytest.mark.parametrize(("x_uln", "grade"), [(1.0, 0), (1.5, 1), (1.6, 2), (3.0, 2), (3.1, 3), (10.0, 3), (10.5, 4)])
def test_bilirubin_grade(x_uln, grade):
    # CTCAE v5.0 blood bilirubin increased: G1 >ULN-1.5, G2 >1.5-3.0, G3 >3.0-10.0, G4 >10.0 x ULN
    assert grade_bilirubin(x_uln) == grade


@pytest.mark.parametrize(
    ("anc", "grade"),
    # CTCAE v5.0 neutrophil count decreased: G1 <LLN-1500, G2 <1500-1000, G3 <1000-500, G4 <500 /mm3
    [(2500, 0), (2000, 0), (1999, 1), (1500, 1), (1499, 2), (1000, 2), (999, 3), (500, 3), (499, 4), (0, 4)],
)
def test_neutrophil_grade(anc, grade):
    assert grade_neutrophils(anc, lln_per_mm3=2000) == grade


@pytest.mark.parametrize(("plt", "grade"), [(150_000, 0), (100_000, 1), (74_999, 2), (49_999, 3), (24_999, 4)])
def test_platelet_grade(plt, grade):
    # CTCAE v5.0 platelet count decreased: G1 <LLN-75,000, G2 <75,000-50,000, G3 <50,000-25,000, G4 <25,000
    assert grade_platelets(plt) == grade


@pytest.mark.parametrize(("hgb", "grade"), [(12.5, 0), (11.9, 1), (10.0, 1), (9.9, 2), (8.0, 2), (7.9, 3)])
def test_anaemia_grade(hgb, grade):
    # CTCAE v5.0 anemia: G1 <LLN-10.0, G2 <10.0-8.0, G3 <8.0 g/dL; G4-5 clinical
    assert grade_anaemia(hgb, lln_g_dl=12.0) == grade


def test_anaemia_grade_4_and_5_are_clinical():
    assert grade_anaemia(6.0, life_threatening=True) == 4
    assert grade_anaemia(6.0, death=True) == 5


@pytest.mark.parametrize(
    ("stools", "kwargs", "grade"),
    # CTCAE v5.0 diarrhea: G1 <4 stools/day over baseline, G2 4-6, G3 >=7 or hospitalisation, G4 life-threatening
    [
        (0, {}, 0),
        (3, {}, 1),
        (4, {}, 2),
        (6, {}, 2),
        (7, {}, 3),
        (2, {"hospitalisation": True}, 3),
        (2, {"adl": "instrumental"}, 2),
        (10, {"life_threatening": True}, 4),
        (10, {"death": True}, 5),
    ],
)
def test_diarrhoea_grade(stools, kwargs, grade):
    assert grade_diarrhoea(stools, **kwargs) == grade


def test_fatigue_and_arthralgia_grade_by_adl_limitation():
    # CTCAE v5.0 fatigue/arthralgia: G1 mild, G2 limiting instrumental ADL, G3 limiting self-care ADL
    assert grade_adl_term("none") == 1
    assert grade_adl_term("none", symptomatic=False) == 0
    assert grade_adl_term("instrumental") == 2
    assert grade_adl_term("self_care") == 3


@pytest.mark.parametrize(
    ("bsa", "kwargs", "grade"),
    # CTCAE v5.0 rash maculo-papular: G1 <10 % BSA; G2 10-30 % or >30 % with mild symptoms; G3 >30 % with
    # moderate or severe symptoms, or limiting self-care ADL
    [
        (5, {}, 1),
        (20, {}, 2),
        (40, {"symptoms": "mild"}, 2),
        (40, {"symptoms": "moderate"}, 3),
        (5, {"adl": "self_care"}, 3),
    ],
)
def test_rash_grade(bsa, kwargs, grade):
    assert grade_rash_maculopapular(bsa, **kwargs) == grade


def test_pneumonitis_grade():
    # CTCAE v5.0 pneumonitis: G1 asymptomatic, G2 symptomatic, G3 oxygen indicated, G4 life-threatening
    assert grade_pneumonitis(symptomatic=False) == 1
    assert grade_pneumonitis(symptomatic=True) == 2
    assert grade_pneumonitis(symptomatic=True, oxygen=True) == 3
    assert grade_pneumonitis(symptomatic=True, life_threatening=True) == 4


@pytest.mark.parametrize(
    ("fever", "hypotension", "hypoxia", "grade"),
    # ASTCT 2019 (Lee, BBMT 2019;25:625): fever alone G1; hypotension without vasopressors and/or low-flow
    # O2 G2; one vasopressor and/or high-flow O2 G3; several vasopressors and/or positive pressure G4;
    # the worse of hypotension and hypoxia sets the grade
    [
        (False, "none", "none", 0),
        (True, "none", "none", 1),
        (True, "fluids", "none", 2),
        (True, "none", "low_flow", 2),
        (True, "one_vasopressor", "low_flow", 3),
        (True, "fluids", "high_flow", 3),
        (True, "multiple_vasopressors", "none", 4),
        (True, "none", "positive_pressure", 4),
    ],
)
def test_astct_crs_grade(fever, hypotension, hypoxia, grade):
    assert astct_crs_grade(fever, hypotension, hypoxia) == grade


def test_astct_crs_needs_fever_unless_masked():
    # ASTCT: fever is required, but not once antipyretics, tocilizumab or steroids mask it
    assert astct_crs_grade(False, "one_vasopressor", "none") == 0
    assert astct_crs_grade(False, "one_vasopressor", "none", fever_masked=True) == 3


def test_hypoxia_category_from_oxygen_flow():
    # ASTCT: low-flow nasal cannula is <= 6 L/min; above that, high-flow
    assert hypoxia_support(0, "nasal_cannula") == "none"
    assert hypoxia_support(6, "nasal_cannula") == "low_flow"
    assert hypoxia_support(6.5, "nasal_cannula") == "high_flow"
    assert hypoxia_support(10, "facemask") == "high_flow"
    assert hypoxia_support(0, "positive_pressure") == "positive_pressure"
    assert astct_crs_grade(True, "none", hypoxia_support(4, "nasal_cannula")) == 2


@pytest.mark.parametrize(
    ("kwargs", "grade"),
    # ASTCT ICANS: ICE 7-9 G1, 3-6 G2, 0-2 G3, unarousable G4; consciousness: awakens spontaneously G1,
    # to voice G2, to touch G3, unarousable G4; rapidly resolving seizure G3, prolonged G4; deep focal motor
    # weakness G4; focal oedema G3, diffuse G4; the grade is the most severe domain
    [
        ({"ice_score": 10}, 0),
        ({"ice_score": 9}, 1),
        ({"ice_score": 7}, 1),
        ({"ice_score": 6}, 2),
        ({"ice_score": 3}, 2),
        ({"ice_score": 2}, 3),
        ({"ice_score": 0}, 3),
        ({"ice_score": 0, "consciousness": "unarousable"}, 4),
        ({"ice_score": 10, "consciousness": "voice"}, 2),
        ({"ice_score": 8, "seizure": "rapid"}, 3),
        ({"ice_score": 8, "seizure": "prolonged"}, 4),
        ({"ice_score": 10, "motor_weakness": True}, 4),
        ({"ice_score": 9, "cerebral_oedema": "focal"}, 3),
        ({"ice_score": 9, "cerebral_oedema": "diffuse"}, 4),
    ],
)
def test_astct_icans_grade(kwargs, grade):
    assert astct_icans_grade(**kwargs) == grade


def test_invalid_inputs_name_the_field():
    with pytest.raises(ValidationError, match="'alt_x_uln'"):
        grade_alt(-1.0)
    with pytest.raises(ValidationError, match="'hypotension'"):
        astct_crs_grade(True, "dopamine")
    with pytest.raises(ValidationError, match="'ice_score'"):
        astct_icans_grade(11)
