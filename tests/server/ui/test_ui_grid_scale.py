"""The grid at issue 12's scale (200 tasks x 50 runs) reads its task instances in one query:
the page and its JSON twin issue a fixed handful of statements, whatever the size. (Its speed
is measured by benchmarks/bench_ui.py, not asserted here.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from grid_scale import DAG_ID, RUNS, TASKS, build
from sqlalchemy import event

from trackflow.config import Settings
from trackflow.server.app import create_app
from trackflow.server.services import Services
from trackflow.server.ui import dag_grid


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, TestClient, list[str]]]:
    root: Path = tmp_path_factory.mktemp("grid-scale")
    settings = Settings(home=str(root), tracking_uri=f"sqlite:///{root / 'db.sqlite'}")
    services = Services.from_settings(settings)
    build(services.db)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", count)
    with TestClient(create_app(settings, services)) as client:
        yield services, client, statements
    services.db.dispose()


def test_grid_data_is_dag_ordered_and_takes_a_fixed_number_of_queries(scale: Any) -> None:
    services, _, statements = scale
    statements.clear()
    page = dag_grid.grid_page(services, DAG_ID, limit=RUNS)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 3, selects  # the DAG, its runs, every task instance of those runs
    assert len(page.runs) == RUNS and len(page.rows) == TASKS
    ids = [row.task_id for row in page.rows]
    assert ids != sorted(ids) and ids[0] == f"g0.task_{TASKS:03d}"  # DAG order
    assert [r.run_id for r in page.runs][:2] == ["run_000", "run_001"]  # oldest first
    assert page.rows[0].cells[0].state == "failed" and page.rows[1].cells[0].state == "success"
    assert page.live  # the newest run is still queued


@pytest.mark.parametrize("path", [f"/dags/{DAG_ID}/grid?limit={RUNS}", f"/api/v1/ui/dags/{DAG_ID}/grid?limit={RUNS}"])
def test_grid_page_and_json_at_scale_take_a_fixed_number_of_queries(scale: Any, path: str) -> None:
    _, client, statements = scale
    statements.clear()
    response = client.get(path)
    assert response.status_code == 200
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 3, selects
    if path.startswith("/api"):
        body = response.json()
        assert len(body["rows"]) == TASKS and all(len(r["cells"]) == RUNS for r in body["rows"])
    else:
        assert response.text.count('class="cell ') == TASKS * RUNS
