"""The SQLMesh project itself, without a warehouse: its yaml unit tests pass, every intermediate
and mart model has one, every model has a grain, audits and documented columns, and the
exported KPI glossary matches the models."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dental_etl.transform.changes import short_name
from dental_etl.transform.glossary import glossary_from_context, rendered, to_markdown

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project() -> Iterator[Any]:
    from dental_etl.transform.glossary import offline_context

    ctx = offline_context(PROJECT_DIR)
    yield ctx
    ctx.close()


def _built_models(project: Any) -> list[Any]:
    return [m for m in project.models.values() if not m.kind.is_external]


def test_sqlmesh_unit_tests_pass(project: Any) -> None:
    out = io.StringIO()
    result = project.test(stream=out)
    assert result.testsRun >= 34
    failures = [str(test) for test, _ in result.failures + result.errors]
    assert result.wasSuccessful(), f"SQLMesh unit tests failed: {failures}\n{out.getvalue()[-4000:]}"


def test_every_intermediate_and_mart_model_has_a_unit_test(project: Any) -> None:
    tested = {short_name(meta.body["model"]) for meta in project.select_tests()}
    wanted = {m.name for m in _built_models(project) if m.name.split(".")[0] in {"intermediate", "marts"}}
    assert wanted - tested == set()


def test_every_model_has_grain_audits_and_column_descriptions(project: Any) -> None:
    for model in _built_models(project):
        assert model.grains, f"{model.name} declares no grain"
        assert model.audits, f"{model.name} has no audit"
        assert model.description, f"{model.name} has no description"
        columns = set(model.columns_to_types or {})
        undocumented = columns - set(model.column_descriptions)
        assert not undocumented, f"{model.name}: columns without a description: {sorted(undocumented)}"


def test_every_raw_table_is_audited(project: Any) -> None:
    external = [m for m in project.models.values() if m.kind.is_external]
    assert len(external) == 42
    assert all(any(name == "raw_contract" for name, _ in m.audits) for m in external)


def test_glossary_files_match_the_models(project: Any) -> None:
    glossary = glossary_from_context(project)
    names = {k.name for k in glossary.kpis}
    for kpi in (
        "Gross production",
        "Net production",
        "Insurance write-offs",
        "Insurance income",
        "Patient income",
    ):
        assert kpi in names
    for rel, content in rendered(glossary).items():
        assert (PROJECT_DIR / rel).read_text() == content, f"{rel} is stale: run `dental glossary`"
    assert "| Net production |" in to_markdown(glossary)


def test_date_dependent_models_are_the_ones_that_read_the_run_date(project: Any) -> None:
    from dental_etl.transform.changes import date_dependent_models

    in_files = {
        f"{path.parent.name}.{path.stem}"
        for path in (PROJECT_DIR / "models").rglob("*.sql")
        if "@execution_ds" in path.read_text()
    }
    assert in_files, "no model reads @execution_ds"
    assert {short_name(name) for name in date_dependent_models(project)} == in_files


def test_the_project_fingerprint_follows_what_a_plan_reads(tmp_path: Path) -> None:
    import shutil

    from dental_etl.transform.project_state import project_fingerprint

    copy = tmp_path / "project"
    for name in ("models", "audits", "tests"):
        shutil.copytree(PROJECT_DIR / name, copy / name)
    for name in ("config.yaml", "external_models.yaml"):
        shutil.copy(PROJECT_DIR / name, copy / name)
    before = project_fingerprint(copy)
    assert project_fingerprint(copy) == before
    (copy / "tests" / "models" / "test_extra.yaml").write_text("{}\n")  # unit tests: not planned
    assert project_fingerprint(copy) == before
    model = copy / "models" / "marts" / "dim_date.sql"
    model.write_text(model.read_text() + "\n")
    assert project_fingerprint(copy) != before
