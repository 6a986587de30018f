"""Mechanism signatures of the integrated immuno-oncology model io_qsp (issue 3, "What must be shown").

Each therapy class must act through its mechanism: the signature appears when the mechanism's
precondition holds and is absent when it does not (checkpoint blockade with and without PD-L1,
ADCC with and without NK cells, CAR-T with and without lymphodepletion). Every comparison is
against the same virtual patient untreated, so the tests do not depend on the calibration of the
defaults (flag U in the model), only on the mechanisms.

The patient: 70 kg, 175 cm, 60-year-old man, serum creatinine 1.0 mg/dL, two target lesions
summing to 74 mm (NSCLC pooled median, population.md §1.7), PD-L1 TPS 60 %, TMB 12 mut/Mb.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from oncoimmune.models import get_model, io_qsp
from oncoimmune.treatments import Covariates, Regimen
from oncoimmune.treatments._plan import simulate_treatment
from oncoimmune.trial import assess_response

T = np.arange(0.0, 366.0)


def patient(**kw) -> Covariates:
    base = dict(
        weight_kg=70.0,
        height_cm=175.0,
        age_years=60.0,
        sex="male",
        serum_creatinine=1.0,
        pdl1=0.6,
        tmb=12.0,
        tumour_burden_mm=74.0,
        n_lesions=2,
    )
    base.update(kw)
    return Covariates(**base)


@functools.cache
def run(regimen: str, times: tuple[float, ...] | None = None, params: tuple = (), **cov):
    reg = Regimen(()) if regimen == "none" else regimen
    t = T if times is None else np.asarray(times)
    res = simulate_treatment("io_qsp", reg, patient(**cov), t, params=dict(params))
    assert res.result.ok.all(), f"{regimen}: {res.result.status}"
    return res, res.outputs()


def sld(regimen: str, day: int, **cov) -> float:
    return float(run(regimen, **cov)[1]["sld_mm"][0, day])


def state(regimen: str, name: str, **cov) -> np.ndarray:
    return run(regimen, **cov)[0][name][0]


# -- the patient and the untreated course --------------------------------------------------


def test_baseline_sum_of_diameters_is_the_patients():
    # 74 mm over 2 equal spherical lesions at 1e9 cells/cm3 (population.md §3.3): the output
    # sum of diameters at day 0 must give the covariate back.
    assert sld("none", 0) == pytest.approx(74.0, rel=1e-9)


def test_untreated_tumour_grows_and_immune_states_start_near_balance():
    res, out = run("none")
    assert out["sld_mm"][0, 182] > 1.1 * out["sld_mm"][0, 0]
    # initial_state puts effector T cells at their untreated quasi-steady state: the first week
    # moves them by less than 20 % (a transient would show here).
    te = res["TE"][0]
    assert abs(te[7] / te[0] - 1.0) < 0.2


# -- checkpoint blockade ------------------------------------------------------------------------


@pytest.mark.parametrize("drug", ["pembrolizumab 200 mg q3w", "atezolizumab 1200 mg q3w"])
def test_pd1_axis_blockade_raises_kill_only_where_pdl1_is_expressed(drug):
    # PD-L1 60 %: blockade shrinks the tumour relative to no treatment.
    assert sld(drug, 182) < 0.8 * sld("none", 182)
    # PD-L1 0 %: nothing to block; the trajectory is the untreated one to solver tolerance.
    treated = run(drug, pdl1=0.0)[1]["sld_mm"][0]
    untreated = run("none", pdl1=0.0)[1]["sld_mm"][0]
    np.testing.assert_allclose(treated, untreated, rtol=1e-5)


def test_anti_pd1_occupancy_is_near_saturating_at_trough():
    # Nivolumab 3 mg/kg q2w: tumour PD-1 occupancy stays > 90 % at every trough (KD 2.6 nM,
    # gamma_T 0.522; pharmacology.md §1.1: RO > 98 % predicted at approved troughs in plasma).
    out = run("nivolumab 3 mg/kg q2w")[1]
    troughs = out["occupancy_PD1"][0, 13:182:14]
    assert troughs.min() > 0.9


def test_anti_ctla4_lowers_tregs_and_raises_priming():
    te_ipi, te_0 = state("ipilimumab 3 mg/kg q3w x4", "TE"), state("none", "TE")
    r_ipi, r_0 = state("ipilimumab 3 mg/kg q3w x4", "R"), state("none", "R")
    assert r_ipi[28] < 0.8 * r_0[28]  # ADCC depletion of intratumoural Tregs
    assert te_ipi[28] > 1.5 * te_0[28]  # co-stimulation released during priming


def test_treg_adcc_by_anti_ctla4_needs_nk_cells():
    ipi = "ipilimumab 3 mg/kg q3w x4"
    with_nk = run(ipi)[0]["R"][0, 28]
    no_nk = run(ipi, params=(("N_ss", 1e-3),))[0]["R"][0, 28]
    assert no_nk > 1.2 * with_nk


# -- cytokines ------------------------------------------------------------------------------


def test_high_dose_il2_raises_effectors_and_tregs():
    il2 = "aldesleukin 600000 IU/kg q8h x14"
    for name in ("TE", "R", "N"):
        assert state(il2, name)[:10].max() > 2.0 * state("none", name)[:10].max(), name


def test_interferon_alpha_slows_growth():
    ifn = "interferon alfa-2b 20 MIU/m2 IV 5 days/week x4 weeks"
    assert sld(ifn, 28) < sld("none", 28)
    # The effect is direct on cancer cells: it persists without any T cells or NK cells.
    no_immune = (("k_CT", 0.0), ("k_NK", 0.0))
    treated = run(ifn, params=no_immune)[1]["sld_mm"][0, 28]
    untreated = run("none", params=no_immune)[1]["sld_mm"][0, 28]
    assert treated < untreated


# -- vaccine ---------------------------------------------------------------------------------


def test_vaccine_raises_primed_effectors():
    vax = "sipuleucel-T 50 million cells q2w x3"
    assert state(vax, "TE")[42] > 1.3 * state("none", "TE")[42]
    # No antigen match (m_V = 0), no effect on tumour-specific effectors.
    mismatch = run(vax, params=(("m_V", 0.0),))[0]["TE"][0, 42]
    assert mismatch == pytest.approx(state("none", "TE")[42], rel=1e-5)


# -- CAR-T -----------------------------------------------------------------------------------

CAR_T = (
    "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then axicabtagene ciloleucel 2e6 cells/kg after 2 days"
)


def test_car_t_expands_then_contracts_with_a_peak_in_the_first_two_weeks():
    out = run(CAR_T)[1]
    car = out["car_t_total"][0]
    infusion = 5  # lymphodepletion on days 0-2, cells on day 5
    peak = int(np.argmax(car))
    assert infusion < peak <= infusion + 14
    assert car[peak] > 10.0 * car[infusion]  # expansion
    assert car[infusion + 60] < 0.2 * car[peak]  # contraction


def test_car_t_needs_lymphodepletion_to_expand():
    out = run("axicabtagene ciloleucel 2e6 cells/kg")[1]
    car = out["car_t_total"][0]
    assert car.max() < 1.5 * car[0]


def test_lymphodepletion_lowers_blood_lymphocytes():
    lymph = state(CAR_T, "L")
    assert lymph[:10].min() < 0.1 * lymph[0]


# -- chemotherapy and targeted therapy -------------------------------------------------------


@pytest.mark.parametrize("regimen", ["docetaxel 75 mg/m2 q3w x6", "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4"])
def test_chemotherapy_lowers_lymphocytes_as_well_as_tumour(regimen):
    assert sld(regimen, 42) < sld("none", 42)
    assert state(regimen, "L")[:42].min() < 0.9 * state("none", "L")[0]
    assert state(regimen, "N")[:42].min() < 0.9 * state("none", "N")[0]


def test_targeted_therapy_slows_growth_then_resistance_emerges():
    tki = "dabrafenib 150 mg bid + trametinib 2 mg daily"
    days = tuple(np.arange(0.0, 731.0, 7.0))
    res, out = run(tki, times=days, growth_rate=0.02)
    s = out["sld_mm"][0]
    nadir = int(np.argmin(s))
    assert s[nadir] < 0.7 * s[0]  # response
    assert 0 < nadir < len(days) - 1
    assert s[-1] > 1.2 * s[nadir]  # progression after the nadir ...
    cs, cr = res["Cs"][0], res["Cr"][0]
    assert cr[-1] / (cs[-1] + cr[-1]) > 0.9  # ... driven by the resistant clone
    assert cr[0] / (cs[0] + cr[0]) < 0.01


# -- ADCC ------------------------------------------------------------------------------------


def test_adcc_needs_nk_cells_and_target_antigen():
    rtx = "rituximab 375 mg/m2 q1w x4"
    # ADCC kills: fewer viable cancer cells than a -30 % sum of diameters holds (volume ratio 0.343); the
    # lesion shrinks less by day 56 because the killed mass is still being cleared (k_clear)
    viable = run(rtx)[1]["tumour_cells"][0, 56] / run("none")[1]["tumour_cells"][0, 56]
    assert viable < 0.343
    assert sld(rtx, 56) < 0.8 * sld("none", 56)
    no_nk = run(rtx, params=(("N_ss", 1e-3),))[1]["sld_mm"][0, 56]
    untreated_no_nk = run("none", params=(("N_ss", 1e-3),))[1]["sld_mm"][0, 56]
    assert no_nk == pytest.approx(untreated_no_nk, rel=1e-3)
    assert sld(rtx, 56, target_antigen=0.0) == pytest.approx(sld("none", 56), rel=1e-5)


# -- immunoglobulin -------------------------------------------------------------------------


def test_ivig_lowers_therapeutic_antibody_exposure_through_fcrn():
    nivo = run("nivolumab 240 mg q2w", times=tuple(np.arange(0.0, 15.0)))[1]["conc_PD1"][0, 14]
    both = run("nivolumab 240 mg q2w + intravenous immunoglobulin 2 g/kg once", times=tuple(np.arange(0.0, 15.0)))[1][
        "conc_PD1"
    ][0, 14]
    assert both < 0.9 * nivo


# -- PK inside the model matches the drug library's population-PK models ------------------


@pytest.mark.parametrize(
    ("drug", "dose", "unit", "interval"),
    [("nivolumab", 3.0, "mg/kg", 14.0), ("pembrolizumab", 200.0, "mg", 21.0), ("ipilimumab", 3.0, "mg/kg", 21.0)],
)
def test_antibody_slot_reproduces_the_library_pk_over_the_first_interval(drug, dose, unit, interval):
    # The slots carry the popPK model without its time-varying clearance, which changes CL by
    # < 2 % over the first interval (T50 about 2 months): the first trough must agree within 2 %.
    from oncoimmune.treatments import get_drug

    cov = patient()
    times = tuple(np.arange(0.0, interval + 1.0))
    out = run(f"{drug} {dose:g} {unit} once", times=times)[1]
    slot = {"nivolumab": "PD1", "pembrolizumab": "PD1", "ipilimumab": "CTLA4"}[drug]
    ref = get_drug(drug).simulate_pk(dose, unit, interval_days=interval, n_doses=1, covariates=cov, times=times)
    assert out[f"conc_{slot}"][0, -1] == pytest.approx(ref.concentration[0, -1], rel=0.02)


def test_model_declares_a_unit_and_source_for_every_parameter():
    m = get_model("io_qsp")
    for p in m.parameters:
        assert p.unit and p.source, p.name


# -- the patient's balance, immune escape and the non-viable mass (issue 4) ------------------------

# A patient under strong immune pressure, as the calibrated melanoma populations have: fast kill,
# slow clearance of the killed mass, PD-L1 on infiltrating cells.
STRONG = (("k_CT", 10.0), ("k_clear", 0.02), ("pdl1_tme", 0.1))
T120 = tuple(float(t) for t in range(0, 121))


def test_untreated_lesion_grows_at_the_patients_net_growth_rate_whatever_the_immune_pressure():
    # growth_rate is the observed net growth (ln 2 / doubling time): io_qsp.baseline solves the
    # intrinsic kg against this patient's immune kill, so the untreated lesion starts growing at that rate.
    for params in ((), STRONG):
        res, out = run("none", T120, params, growth_rate=0.01, pdl1=0.0)
        lesion = out["lesion_cells"][0]
        assert math.log(lesion[5] / lesion[0]) / 5.0 == pytest.approx(0.01, rel=0.02)
        # the non-viable share starts at its quasi-steady value: it hardly moves in the first days
        share = res["D"][0] / lesion
        assert abs(share[5] - share[0]) < 0.005
    weak = run("none", T120, (), growth_rate=0.01, pdl1=0.0)[1]["lesion_cells"][0]
    strong = run("none", T120, STRONG, growth_rate=0.01, pdl1=0.0)[1]["lesion_cells"][0]
    # weak immune pressure: the rate holds for a month; strong pressure: the kill per cancer cell falls
    # as the tumour outgrows its effector T cells, and the untreated tumour accelerates (escape)
    assert weak[30] / weak[0] == pytest.approx(math.exp(0.3), rel=0.03)
    assert strong[30] / strong[0] > 1.2 * math.exp(0.3)


def test_pd1_blockade_acts_through_pdl1_on_infiltrating_cells_at_tumour_pdl1_zero():
    treated = run("nivolumab 3 mg/kg q2w", T120, STRONG, pdl1=0.0, growth_rate=0.01)[1]["sld_mm"][0]
    untreated = run("none", T120, STRONG, pdl1=0.0, growth_rate=0.01)[1]["sld_mm"][0]
    assert treated[84] < 0.7 * untreated[84]
    no_tme = tuple((k, 0.0 if k == "pdl1_tme" else v) for k, v in STRONG)
    treated0 = run("nivolumab 3 mg/kg q2w", T120, no_tme, pdl1=0.0, growth_rate=0.01)[1]["sld_mm"][0]
    untreated0 = run("none", T120, no_tme, pdl1=0.0, growth_rate=0.01)[1]["sld_mm"][0]
    np.testing.assert_allclose(treated0, untreated0, rtol=1e-6)


def test_cells_that_escape_t_cell_recognition_ignore_checkpoint_blockade():
    escape_all = (*STRONG, ("f_e0", 1.0), ("f_r0", 0.0))
    treated = run("nivolumab 3 mg/kg q2w", T120, escape_all, growth_rate=0.01)[1]["sld_mm"][0]
    untreated = run("none", T120, escape_all, growth_rate=0.01)[1]["sld_mm"][0]
    np.testing.assert_allclose(treated, untreated, rtol=1e-6)


def test_a_pre_existing_escape_clone_gives_response_then_relapse():
    times = tuple(float(t) for t in range(0, 721, 7))
    res, out = run("nivolumab 3 mg/kg q2w", times, (*STRONG, ("f_e0", 1e-4)), growth_rate=0.01)
    viable = out["tumour_cells"][0]
    nadir = int(np.argmin(viable))
    assert viable[nadir] < 1e-2 * viable[0]  # the recognisable cells are cleared ...
    assert viable[-1] > 100 * viable[nadir]  # ... and the escape clone regrows
    assert res["Ce"][0, -1] > 0.99 * viable[-1]


def test_killed_tumour_mass_clears_at_k_clear_so_lesions_shrink_slower_than_viable_cells():
    fast = (("k_CT", 10.0), ("k_clear", 0.1), ("pdl1_tme", 0.1))
    slow = (("k_CT", 10.0), ("k_clear", 0.01), ("pdl1_tme", 0.1))
    _, o_fast = run("nivolumab 3 mg/kg q2w", T120, fast, growth_rate=0.01)
    r_slow, o_slow = run("nivolumab 3 mg/kg q2w", T120, slow, growth_rate=0.01)
    assert o_slow["tumour_cells"][0, 84] < 1e-2 * o_slow["tumour_cells"][0, 0]
    assert o_slow["sld_mm"][0, 84] > o_fast["sld_mm"][0, 84] + 10.0
    # once the viable cells are gone the remaining mass decays at k_clear
    d = r_slow["D"][0]
    assert math.log(d[110] / d[90]) / 20.0 == pytest.approx(-0.01, rel=0.05)


def test_ctla4_exponent_scales_the_priming_that_ipilimumab_frees():
    base = (("k_CT", 10.0), ("k_clear", 0.02))
    te = {
        nu: run("ipilimumab 3 mg/kg q3w x4", T120, (*base, ("nu_CTLA4", nu)), growth_rate=0.01)[0]["TE"][0, 42]
        for nu in (0.0, 0.5, 1.0)
    }
    te_none = run("none", T120, base, growth_rate=0.01)[0]["TE"][0, 42]
    assert te[0.0] < 1.3 * te_none  # no co-stimulation effect (only Treg depletion remains)
    assert te[0.0] < te[0.5] < te[1.0]


def test_clones_primed_under_ctla4_blockade_kill_where_the_pre_existing_ones_cannot():
    # k_CT_CTLA4 (Kvistborg 2014): CTLA-4 blockade primes clones against other antigens, so a
    # patient whose pre-existing clones kill too little for anti-PD-1 (k_CT 0.2/day) can still
    # respond to the combination. nu_CTLA4 0 isolates the new kill from the co-stimulation effect.
    weak = (("k_CT", 0.2), ("k_clear", 0.02), ("pdl1_tme", 0.1), ("nu_CTLA4", 0.0))
    combo, nivo = "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4", "nivolumab 1 mg/kg q3w x4"
    sld = {
        (reg, k): run(reg, T120, (*weak, ("k_CT_CTLA4", k)), growth_rate=0.01)[1]["sld_mm"][0]
        for reg in (combo, nivo)
        for k in (0.0, 10.0)
    }
    assert sld[combo, 0.0][84] > sld[combo, 0.0][0]  # without the new clones the tumour keeps growing
    assert sld[combo, 10.0][84] < 0.7 * sld[combo, 0.0][0]  # with them: a RECIST partial response
    # without CTLA-4 occupancy the parameter does nothing (anti-PD-1 alone: same trajectory)
    np.testing.assert_allclose(sld[nivo, 10.0], sld[nivo, 0.0], rtol=1e-6)


def test_pdl1_induced_under_ctla4_blockade_limits_anti_ctla4_alone_not_the_combination():
    # pdl1_CTLA4 (adaptive resistance, Gao 2017): PD-L1 induced during CTLA-4 blockade suppresses the
    # T-cell kill unless PD-1 is blocked too. A patient with little PD-L1 (TPS 1 %) whose pre-existing
    # clones kill too little (k_CT 0.2/day) and who responds to ipilimumab through newly primed ones.
    base = (("k_CT", 0.2), ("k_clear", 0.02), ("pdl1_tme", 0.02), ("nu_CTLA4", 0.0))
    ipi, combo = "ipilimumab 3 mg/kg q3w x4", "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4"
    nivo = "nivolumab 1 mg/kg q3w x4"

    def out(reg, d, k_new=10.0):
        return run(reg, T120, (*base, ("k_CT_CTLA4", k_new), ("pdl1_CTLA4", d)), pdl1=0.01, growth_rate=0.01)[1]

    def shrink(reg, d, k_new=10.0):  # sum of diameters at day 84 relative to baseline
        sld = out(reg, d, k_new)["sld_mm"][0]
        return sld[84] / sld[0]

    assert shrink(ipi, 0.0, k_new=0.0) > 1.0  # without the new clones ipilimumab does not control it
    assert shrink(ipi, 0.0) < 0.7  # with them: a RECIST partial response
    # under ipilimumab alone the induced PD-L1 engages PD-1 (the output counts it) and the response is lost
    assert out(ipi, 0.0)["pd1_suppression"][0, 42] < 0.1
    assert out(ipi, 0.3)["pd1_suppression"][0, 42] > 0.8
    assert shrink(ipi, 0.3) > 1.0
    # with nivolumab occupying PD-1 the same induction leaves the combination's response in place
    assert out(combo, 0.3)["pd1_suppression"][0, 42] < 0.1
    assert shrink(combo, 0.3) < 0.7
    assert shrink(combo, 0.3) == pytest.approx(shrink(combo, 0.0), abs=0.02)
    # without CTLA-4 occupancy the parameter does nothing (untreated, anti-PD-1 alone: same trajectory)
    for reg in ("none", nivo):
        np.testing.assert_allclose(out(reg, 0.3)["sld_mm"], out(reg, 0.0)["sld_mm"], rtol=1e-6)


def test_a_burden_beyond_the_carrying_capacity_raises_that_patients_capacity():
    # 400 mm in one lesion: about 3.4e13 cells, beyond K_C = 4.2e12 (a 20 cm tumour, population.md §3.1)
    c = patient(tumour_burden_mm=400.0, n_lesions=1, growth_rate=0.01)
    params, init, _ = io_qsp.patient(c)
    viable = init["Cs"] + init["Cr"] + init["Ce"]
    assert params["K_C"] == pytest.approx(viable / 0.95, rel=1e-12)
    q = {p.name: p.value for p in io_qsp.PARAMETERS} | params
    _, _, _, kill_t, kill_nk = io_qsp._untreated(q, viable)
    net = params["kg"] * (1 - viable / params["K_C"]) - q["d_C"] - kill_nk - kill_t
    assert net == pytest.approx(0.01, rel=1e-9)  # still the patient's net growth, not a regression
    assert "K_C" not in io_qsp.patient(patient(growth_rate=0.01))[0]  # 74 mm: the model's capacity


def test_pd1_suppression_output_counts_pdl1_on_infiltrating_cells():
    model = get_model("io_qsp")
    p = model.parameter_values(None).copy()
    p[model.parameter_index("pdl1")] = 0.0
    p[model.parameter_index("pdl1_tme")] = 0.2  # x = 0.2 / P50 0.1 = 2, n = 2: H = 4 / 5
    y = model.initial_values(None)
    assert float(io_qsp.outputs(y, p)["pd1_suppression"]) == pytest.approx(0.8, rel=1e-12)


def test_a_multidrug_resistant_subclone_survives_chemotherapy_and_regrows():
    doublet = "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4"
    days = tuple(float(t) for t in range(0, 366, 7))
    mdr = (("f_r0", 0.05), ("s_chemo_r", 0.0), ("EmaxT_ch1", 8.0), ("EmaxT_ch2", 2.0))
    res, out = run(doublet, days, mdr, growth_rate=0.01)
    cs, cr = res["Cs"][0], res["Cr"][0]
    assert cs.min() < 0.1 * cs[0]  # the sensitive cells are killed ...
    assert cr.min() > 0.9 * cr[0]  # ... the resistant ones are not (the T-cell kill is weak at TPS 60 %)
    viable = out["tumour_cells"][0]
    nadir = int(np.argmin(viable))
    assert viable[-1] > 2.0 * viable[nadir]  # relapse, led by the resistant clone: 5 % before treatment, most now
    assert cr[-1] > 0.5 * viable[-1]
    # the default (s_chemo_r 1): the same subclone resists targeted therapy only and dies with the rest
    res1, _ = run(doublet, days, (*mdr[:1], ("s_chemo_r", 1.0), *mdr[2:]), growth_rate=0.01)
    assert res1["Cr"][0].min() < 0.1 * res1["Cr"][0][0]


def test_apoptotic_cells_cleared_at_once_let_a_kinase_inhibitor_shrink_lesions_faster():
    regimen = "dabrafenib 150 mg bid + trametinib 2 mg daily"
    days = tuple(float(t) for t in range(0, 113, 7))
    apo = (("k_apo", 0.1),)
    kept, out_kept = run(regimen, days, (*apo, ("f_D_apo", 1.0)))
    gone, out_gone = run(regimen, days, (*apo, ("f_D_apo", 0.0)))
    # the viable tumour is the same: where the dead cells go does not feed back on the living ones
    np.testing.assert_allclose(out_gone["tumour_cells"][0], out_kept["tumour_cells"][0], rtol=1e-5)
    assert out_kept["tumour_cells"][0, 8] < 0.3 * out_kept["tumour_cells"][0, 0]  # inhibition kills most cells
    # kept (the default), the killed cells stay as mass cleared at k_clear and the lesions lag the viable tumour;
    # cleared at once, the non-viable mass is only what the T cells and NK cells kill
    assert gone["D"][0, 8] < 0.5 * kept["D"][0, 8]
    sld_kept, sld_gone = out_kept["sld_mm"][0], out_gone["sld_mm"][0]
    assert sld_gone[8] < sld_kept[8] - 5.0  # at 8 weeks, the first COMBI-d scan: more than 5 mm smaller
    assert np.all(sld_gone[1:] <= sld_kept[1:] + 1e-9)


def test_a_resistant_subclone_that_evades_t_cells_relapses_where_a_visible_one_is_held():
    regimen = "dabrafenib 150 mg bid + trametinib 2 mg daily"
    days = tuple(float(t) for t in range(0, 366, 7))
    # the melanoma calibration's median T-cell kill (checkmate067: 6.5/day), so that T cells matter
    tki = (("f_r0", 0.02), ("k_apo", 0.2), ("f_D_apo", 0.0), ("k_CT", 6.5))
    seen, _ = run(regimen, days, (*tki, ("s_T_r", 1.0)))
    hidden, out_hidden = run(regimen, days, (*tki, ("s_T_r", 0.0)))
    # the inhibitors kill the sensitive cells either way ...
    assert seen["Cs"][0, -1] < 1e-3 * seen["Cs"][0, 0] and hidden["Cs"][0, -1] < 1e-3 * hidden["Cs"][0, 0]
    # ... the resistant subclone that the T cells still see is cleared (they kill faster per cell as the
    # tumour shrinks), the one that evades them grows back (Hugo 2015, Haas 2021)
    assert seen["Cr"][0, -1] < 1e-3 * seen["Cr"][0, 0]
    assert hidden["Cr"][0, -1] > 5.0 * hidden["Cr"][0, 0]
    viable = out_hidden["tumour_cells"][0]
    assert viable[-1] > 2.0 * viable.min()  # a relapse led by that subclone


def _progression_day(out: dict, days: tuple[float, ...]) -> float:
    """The RECIST 1.1 progression day of the patient's two lesions scanned on ``days`` (NaN if none)."""
    return float(assess_response(out["sld_mm"], days, n_lesions=2).progression_day[0])


def test_a_resistant_subclone_that_keeps_part_of_the_mek_inhibition_relapses_later():
    regimen = "dabrafenib 150 mg bid + trametinib 2 mg daily"
    days = tuple(float(t) for t in range(0, 731, 7))
    # a resistant subclone that evades the T cells, so that only the inhibitors act on it
    tki = (("f_r0", 0.02), ("k_apo", 0.2), ("f_D_apo", 0.0), ("s_T_r", 0.0))
    escape, out_escape = run(regimen, days, tki)
    kept, out_kept = run(regimen, days, (*tki, ("trametinib:Sr", 0.3)))
    # Sr 0 (the drug files' value): the subclone escapes both drugs, grows from the first day and the lesions
    # progress within the first year
    assert escape["Cr"][0, 26] > 2.0 * escape["Cr"][0, 0]
    assert _progression_day(out_escape, days) < 365
    # keeping 30 % of trametinib's inhibition (and its apoptosis), it shrinks instead and there is no relapse in
    # two years
    assert kept["Cr"][0, 26] < 0.1 * kept["Cr"][0, 0]
    assert np.isnan(_progression_day(out_kept, days))
    # the sensitive cells hardly depend on it (only through the immune response to a smaller tumour)
    np.testing.assert_allclose(kept["Cs"][0, :5], escape["Cs"][0, :5], rtol=0.02)


def test_a_subclone_that_keeps_all_of_both_inhibitions_is_as_sensitive_as_the_rest():
    regimen = "dabrafenib 150 mg bid + trametinib 2 mg daily"
    days = tuple(float(t) for t in range(0, 113, 7))
    # no mutation inflow and the same T-cell kill: with Sr 1 for both drugs the two clones are the same cells
    both = (("f_r0", 0.02), ("mu_r", 0.0), ("s_T_r", 1.0), ("dabrafenib:Sr", 1.0), ("trametinib:Sr", 1.0))
    res, _ = run(regimen, days, both)
    np.testing.assert_allclose(res["Cr"][0] / res["Cr"][0, 0], res["Cs"][0] / res["Cs"][0, 0], rtol=1e-5)


def test_the_resistant_subclone_loses_its_share_of_each_drugs_apoptosis_to_the_non_viable_mass():
    """The Sr terms of the right-hand side, exactly: only the drug present acts, through its own slot's Sr,
    and the apoptotic resistant cells join the non-viable mass D in the share f_D_apo."""
    model = get_model("io_qsp")
    ix = model.state_index
    y = model.initial_values()
    y[ix("Cs")], y[ix("Cr")], y[ix("D")] = 1e9, 2e8, 0.0
    y[ix("tk2_1")] = 0.5  # mg of a drug in slot tk2 only, slot tk1 empty
    base = dict(kg=0.0, k_apo=0.2, Imax_tk2=1.0, IC50_tk2=0.01, V1_tk2=10.0, f_D_apo=1.0)
    e2 = 1.0 * (0.5 / 10.0) / (0.01 + 0.5 / 10.0)

    def deriv(**kw):
        dy = np.zeros_like(y)
        io_qsp.rhs(y, model.parameter_values(**{**base, **kw}), dy)
        return dy

    none, kept = deriv(), deriv(Sr_tk2=0.3)
    # no growth (kg 0): the resistant cells die faster by exactly k_apo Sr e2 Cr
    np.testing.assert_allclose(none[ix("Cr")] - kept[ix("Cr")], 0.2 * 0.3 * e2 * 2e8, rtol=1e-12)
    # ... which the non-viable mass gains with f_D_apo 1, and not with f_D_apo 0
    np.testing.assert_allclose(kept[ix("D")] - none[ix("D")], 0.2 * 0.3 * e2 * 2e8, rtol=1e-12)
    gone = deriv(Sr_tk2=0.3, f_D_apo=0.0)
    np.testing.assert_allclose(gone[ix("D")], deriv(f_D_apo=0.0)[ix("D")], rtol=1e-12)
    # the sensitive cells do not see it, and the empty slot's Sr does nothing
    assert kept[ix("Cs")] == none[ix("Cs")]
    np.testing.assert_array_equal(deriv(Sr_tk1=0.3), none)
