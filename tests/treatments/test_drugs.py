"""The drug library: every data file validates; bad files are rejected naming file and field."""

import math
from pathlib import Path

import pytest
import yaml

from oncoimmune import UnknownNameError, ValidationError, get_model
from oncoimmune.treatments import Covariates, drug_library, get_drug, load_drug_file
from oncoimmune.treatments._drugs import DRUG_DIR, Quantity

EXPECTED = {
    "nivolumab",
    "pembrolizumab",
    "atezolizumab",
    "ipilimumab",
    "rituximab",
    "trastuzumab",
    "intravenous_immunoglobulin",
}
FILES = sorted(DRUG_DIR.glob("*.yaml"))


def test_library_has_the_requested_drugs():
    assert EXPECTED <= set(drug_library())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_file_loads_and_every_number_has_unit_source_and_flag(path):
    drug = load_drug_file(path)
    assert drug.name == path.stem
    quantities: list[Quantity] = []
    if drug.molecular_weight:
        quantities.append(drug.molecular_weight)
    if drug.infusion:
        quantities += [q for q in (drug.infusion.minutes, drug.infusion.first_minutes) if q]
    for pd in drug.pd:
        quantities += list(pd.parameters.values())
    for q in quantities:
        assert q.unit and q.source and q.flag in "VRUC" and math.isfinite(q.value)
    for r in drug.regimens:
        assert r.source and r.flag in "VRUC" and r.unit in drug.dose_units
    if drug.pk is not None:
        for e in drug.pk.covariates:
            assert e.unit and e.source and e.flag in "VRUC"
    # the raw file has no bare number outside a sourced mapping: every dict holding a float
    # among its values also holds a source (regimens, quantities, covariate effects)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    def walk(node, where):
        if isinstance(node, dict):
            if any(isinstance(v, float | int) and not isinstance(v, bool) for v in node.values()):
                assert "source" in node, where
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(raw, path.name)


def test_typical_patient_is_the_model_variant():
    for drug in drug_library().values():
        if drug.pk is None:
            continue
        model = get_model(drug.pk.model)
        typical = drug.pk_patient()
        assert list(typical.values.values()) == model.parameter_values(drug.pk.variant).tolist()


def test_reference_covariates_reproduce_the_typical_patient():
    # Bajaj 2017 reference: white female, 80 kg, eGFR 90, ECOG 0 (pharmacology.md §1.1)
    niv = get_drug("nivolumab")
    ref = Covariates(weight_kg=80, height_cm=165, age_years=60, sex="female", egfr=90, ecog=0, race="white")
    pk = niv.pk_patient(ref)
    assert pk.assumed == ()
    assert pk.values == niv.pk_patient().values


def test_covariate_effects_use_the_published_exponents():
    niv = get_drug("nivolumab")
    # male, 100 kg (eGFR, ECOG, race missing -> reference, reported as assumed)
    pk = niv.pk_patient(Covariates(weight_kg=100, height_cm=180, age_years=60, sex="male"))
    # CL = 0.2256 * (100/80)^0.566 * exp(0.165) = 0.2256 * 1.134622 * 1.179393 = 0.301890 L/day
    assert pk.values["CL0"] == pytest.approx(0.2256 * 1.25**0.566 * math.exp(0.165), rel=1e-12)
    assert pk.values["CL0"] == pytest.approx(0.301890, rel=1e-5)
    # V1 = 3.63 * 1.25^0.597 * exp(0.152) = 3.63 * 1.142498 * 1.164160 = 4.828082 L
    assert pk.values["V1"] == pytest.approx(4.828082, rel=1e-6)
    assert set(pk.assumed) == {"egfr", "ecog_ge_1", "asian"}
    # ipilimumab LDH as a ratio of logs: (ln 400 / ln 206)^1.13 (Feng 2014; pharmacology.md §1.4)
    ipi = get_drug("Yervoy")
    cl = ipi.pk_patient(Covariates(weight_kg=80, height_cm=175, age_years=60, sex="male", ldh_u_per_l=400))
    assert cl.values["CL0"] == pytest.approx(0.360 * (math.log(400) / math.log(206)) ** 1.13, rel=1e-12)
    # rituximab progressor: kdes 82.2 % lower, 0.143 * 0.178 = 0.025454/day (Rozman 2017 gives 0.0254)
    rit = get_drug("rituximab")
    prog = rit.pk_patient(Covariates(weight_kg=70, height_cm=180, age_years=60, sex="male", conditions={"progressor"}))
    assert prog.values["kdes"] == pytest.approx(0.0254, rel=0.003)


def test_unknown_drug_lists_the_known_ones():
    with pytest.raises(
        UnknownNameError, match=r"'drug' parameter must be one of \[aldesleukin, atezolizumab, .*nivolumab"
    ):
        get_drug("nivolumabb")


def test_drug_without_pk_model_says_why():
    ivig = get_drug("intravenous_immunoglobulin")
    assert ivig.pk is None and "two-compartment" in ivig.pk_limitations
    with pytest.raises(ValidationError, match="have a PK model"):
        ivig.pk_patient()


def test_dose_unit_must_be_allowed_for_the_drug():
    with pytest.raises(ValidationError, match="'unit' parameter of drug atezolizumab must be one of \\['mg'\\]"):
        get_drug("atezolizumab").dose_amount(15, "mg/kg")


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"{data.get('name', 'bad')}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _nivolumab() -> dict:
    return yaml.safe_load((DRUG_DIR / "nivolumab.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["pk"]["covariates"][0].pop("source"), "pk.covariates[0].source"),
        (lambda d: d["pk"]["covariates"][1].update(unit="mL/min"), "pk.covariates[1]"),
        (lambda d: d["regimens"][0].update(unit="mg/lb"), "regimens[0].unit"),
        (lambda d: d.update({"class": "antibody"}), "class"),
        (lambda d: d["pd"][0]["parameters"]["KD"].update(flag="X"), "pd[0].parameters.KD.flag"),
        (lambda d: d["molecular_weight"].update(value=float("nan")), "molecular_weight.value"),
        (lambda d: d["pk"].update(variant="nivolumab_2099"), "pk"),
        (lambda d: d.update(extra_field=1), "extra_field"),
    ],
)
def test_malformed_files_are_rejected_naming_file_and_field(tmp_path, mutate, field):
    data = _nivolumab()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ValidationError) as info:
        load_drug_file(path)
    assert info.value.field == field
    assert info.value.where == "nivolumab.yaml"
    assert f"'{field}' parameter of nivolumab.yaml" in str(info.value)


def test_file_name_must_match_drug_name(tmp_path):
    data = _nivolumab()
    path = tmp_path / "opdivo.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"'name' parameter of opdivo\.yaml must match the file name"):
        load_drug_file(path)


def test_unparseable_yaml_is_rejected(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="be valid YAML"):
        load_drug_file(path)
