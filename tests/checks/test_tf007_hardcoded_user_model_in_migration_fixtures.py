"""TF007 on fixture projects: the pipeline turns before/ into after/ and a second run is a no-op."""

from __future__ import annotations

from user_model_cases import run_case


def test_swapped_auth_user_prediction(tmp_path):
    analysis, _ = run_case("tf007_hardcoded_user_model_in_migration__swapped_auth_user", tmp_path)
    [diag] = [d for d in analysis.diagnostics if d.code == "TF007"]
    assert diag.prediction is not None
    assert (diag.prediction.step, diag.prediction.migration, diag.prediction.error) == (
        "migrate_schemas --tenant",
        "shop.0001_initial",
        'relation "auth_user" does not exist',
    )
    assert [f.safety for f in diag.fixes] == ["unsafe"]
