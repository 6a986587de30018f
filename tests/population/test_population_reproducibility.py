"""Reproducibility: same seed -> bit-identical frame; patient i is the same whatever n, start or chunking."""

import itertools

import numpy as np
import pandas as pd
import pytest
from population_helpers import TYPES

from oncoimmune import __version__
from oncoimmune.population import BLOCK_SIZE, COLUMNS, sample_population


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)
    for col in a.columns:  # bit-identical, not merely equal (NaN == NaN here)
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f":
            assert x.tobytes() == y.tobytes(), col


@pytest.mark.parametrize("tumour_type", TYPES)
def test_same_seed_gives_a_bit_identical_frame(tumour_type):
    _same(sample_population(tumour_type, 2500, 11), sample_population(tumour_type, 2500, 11))


@pytest.mark.parametrize("tumour_type", TYPES)
def test_a_different_seed_gives_different_patients(tumour_type):
    a = sample_population(tumour_type, 200, 11)
    b = sample_population(tumour_type, 200, 12)
    assert (a.age_years != b.age_years).all()
    assert (a.tumour_burden_mm != b.tumour_burden_mm).all()


@pytest.mark.parametrize("tumour_type", TYPES)
def test_the_first_k_patients_of_n_are_the_sample_of_k(tumour_type):
    big = sample_population(tumour_type, 3 * BLOCK_SIZE + 17, 3)
    for k in (1, 2, 100, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 2 * BLOCK_SIZE + 5):
        _same(sample_population(tumour_type, k, 3), big.iloc[:k])


@pytest.mark.parametrize("tumour_type", ["nsclc", "lbcl"])
def test_chunks_sampled_apart_concatenate_to_the_population(tumour_type):
    # workers sampling (start, n) chunks of any size reproduce the single-call population
    whole = sample_population(tumour_type, 2600, 8)
    bounds = [0, 1, 700, 1024, 1025, 2048, 2600]
    parts = [sample_population(tumour_type, b - a, 8, start=a) for a, b in itertools.pairwise(bounds)]
    joined = pd.concat(parts, ignore_index=True)
    _same(joined, whole)
    assert joined.patient_id.tolist() == list(range(2600))


def test_prefix_stability_holds_with_overrides():
    o = {"pdl1": 0.6, "ecog": 1, "weight_kg": 55.0, "tumour_burden_mm": 150.0}
    big = sample_population("melanoma", 2100, 4, overrides=o)
    _same(sample_population("melanoma", 1030, 4, overrides=o), big.iloc[:1030])


def test_columns_dtypes_and_provenance():
    f = sample_population("nsclc", 50, 9, overrides={"pdl1": 0.5})
    assert tuple(f.columns) == COLUMNS
    assert f.patient_id.dtype == np.int64 and f.ecog.dtype == np.int64 and f.n_lesions.dtype == np.int64
    assert f.msi_high.dtype == bool
    assert (f.tumour_type == "nsclc").all()
    prov = f.attrs["provenance"]
    assert prov["seed"] == 9 and prov["n"] == 50 and prov["start"] == 0
    assert prov["tumour_type"] == "nsclc" and prov["overrides"] == {"pdl1": 0.5}
    assert prov["oncoimmune_version"] == __version__
    assert len(prov["data_sha256"]) == 64
    R = np.array(prov["correlation"]["matrix"])
    names = prov["correlation"]["variables"]
    assert R.shape == (len(names), len(names))
    np.testing.assert_array_equal(R, R.T)
    assert np.linalg.eigvalsh(R).min() > 0
    assert prov["streams"]["block_size"] == BLOCK_SIZE
    edges = prov["correlation"]["edges"]
    assert all(e["source"] and e["flag"] in "VRUD" for e in edges)
