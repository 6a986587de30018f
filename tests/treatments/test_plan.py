"""simulate_treatment: a patient's trajectory is its own, whoever shares its batch."""

import numpy as np
import pytest

from oncoimmune import Covariates, simulate_treatment

DAYS = np.arange(0.0, 85.0, 7.0)
REGIMEN = "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4"


def test_a_patients_result_does_not_depend_on_the_other_patients_of_its_batch():
    light = Covariates(weight_kg=45, height_cm=155, age_years=70, sex="female", pdl1=0.05, tmb=4)
    heavy = Covariates(weight_kg=140, height_cm=190, age_years=40, sex="male", pdl1=0.8, tmb=30)
    alone = simulate_treatment("io_qsp", REGIMEN, light, DAYS)
    batch = simulate_treatment("io_qsp", REGIMEN, [heavy, light], DAYS)
    stopped = simulate_treatment("io_qsp", REGIMEN, [light, light], DAYS, dose_until=[84.0, 21.0])
    assert alone.result.ok.all() and batch.result.ok.all()
    # The heavy patient's larger doses (and a batch-mate stopping early) change neither the
    # tolerances nor the step budget of the light patient: bit-identical trajectories.
    np.testing.assert_array_equal(batch.result.y[1], alone.result.y[0])
    np.testing.assert_array_equal(stopped.result.y[0], alone.result.y[0])
    assert batch.result.n_steps[1] == alone.result.n_steps[0]
    # and the doses really differ: 420 against 135 mg of ipilimumab, a higher concentration a week on
    conc = batch.outputs()["conc_CTLA4"][:, 1]
    assert conc[0] > 1.5 * conc[1]


DOUBLET = "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4"
NSCLC = Covariates(weight_kg=70, height_cm=170, age_years=65, sex="male", serum_creatinine=1.0, pdl1=0.7)


def test_a_drug_qualified_parameter_sets_the_slot_the_drug_takes():
    from oncoimmune.treatments._plan import plan_patient

    base = plan_patient("io_qsp", DOUBLET, NSCLC, 90.0).parameters
    both = {"carboplatin:EmaxT": 1.5, "pemetrexed:EmaxT": 0.25}
    plan = plan_patient("io_qsp", DOUBLET, NSCLC, 90.0, params=both).parameters
    assert (plan["EmaxT_ch1"], plan["EmaxT_ch2"]) == (1.5, 0.25)  # carboplatin comes first: ch1
    swapped = plan_patient("io_qsp", "pemetrexed 500 mg/m2 + carboplatin AUC 5 q3w x4", NSCLC, 90.0, params=both)
    assert (swapped.parameters["EmaxT_ch1"], swapped.parameters["EmaxT_ch2"]) == (0.25, 1.5)
    # everything else is the drug file's, and a drug the regimen does not give is not applied
    assert {k: v for k, v in plan.items() if not k.startswith("EmaxT")} == {
        k: v for k, v in base.items() if not k.startswith("EmaxT")
    }
    mono = plan_patient("io_qsp", "pembrolizumab 200 mg q3w", NSCLC, 90.0, params=both).parameters
    assert mono == plan_patient("io_qsp", "pembrolizumab 200 mg q3w", NSCLC, 90.0).parameters


def test_a_more_potent_drug_shrinks_the_tumour_more():
    days = [0.0, 84.0]
    weak = simulate_treatment("io_qsp", DOUBLET, NSCLC, days, params={"carboplatin:EmaxT": 0.5})
    strong = simulate_treatment("io_qsp", DOUBLET, NSCLC, days, params={"carboplatin:EmaxT": 8.0})
    cells = weak.outputs()["tumour_cells"][0, 1], strong.outputs()["tumour_cells"][0, 1]
    assert cells[1] < 0.5 * cells[0]


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("carboplatn:EmaxT", "params", "carboplatn"),
        ("carboplatin:Emx", "params", "Emx"),
        ("nivolumab:EmaxT", "params", "EmaxT"),
        ("trastuzumab:EmaxT", "params", "EmaxT"),
    ],
)
def test_a_drug_qualified_parameter_that_does_not_exist_is_an_error_naming_it(name, field, value):
    from oncoimmune.errors import ValidationError
    from oncoimmune.treatments._plan import plan_patient

    with pytest.raises(ValidationError) as err:
        plan_patient("io_qsp", DOUBLET, NSCLC, 90.0, params={name: 1.0})
    assert err.value.field == field and err.value.value == value


def test_a_population_can_vary_a_drug_parameter_within_the_slot_bounds():
    from oncoimmune.errors import ValidationError
    from oncoimmune.models import get_model
    from oncoimmune.population import check_parameter_set, sample_parameters

    model = get_model("io_qsp")
    dists = check_parameter_set(model, {"pemetrexed:EmaxT": {"median": 0.5, "omega": 0.5}})
    drawn = sample_parameters(dists, 2000, seed=3)["pemetrexed:EmaxT"]
    assert abs(np.median(drawn) / 0.5 - 1.0) < 0.06  # SE of a log-median at omega 0.5, n 2000: 1.4 %
    with pytest.raises(ValidationError) as err:
        check_parameter_set(model, {"pemetrexed:EmaxT": {"value": 1e6}})
    assert err.value.field == "parameters.pemetrexed:EmaxT.value"
