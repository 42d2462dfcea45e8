"""Editing through the web UI in a real browser: runs and experiments (rename, tags, markdown
notes, delete and restore), the registry (descriptions, tags, aliases set/moved/deleted, a version
deleted) and the runs table sorted by clicking a header. Everything is created through the API,
done on the page, and read back through the API; refused edits show the API's message inline."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import trackflow
from trackflow.errors import NotFound

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

NOTE_TAG = "mlflow.note.content"


@pytest.fixture
def server(running_server: Any) -> str:
    return str(running_server)


@pytest.fixture
def client(server: str) -> trackflow.Client:
    return trackflow.Client(server)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def accept_dialogs(page: Any) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before a delete


def shoot(page: Any, name: str) -> None:
    """Save the page for the README when screenshots are asked for (make screenshots)."""
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def assert_every_control_is_named(page: Any) -> None:
    """Every visible or collapsed input, select, textarea and button has an accessible name
    (a label, aria-label or text)."""
    unnamed = page.evaluate("""() => Array.from(document.querySelectorAll(
        'main input:not([type=hidden]), main select, main textarea, main button')).filter(el =>
        !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.textContent.trim())
      ).map(el => el.outerHTML)""")
    assert unnamed == []


def test_rename_run_edit_tags_and_write_a_note(page: Any, server: str, client: trackflow.Client) -> None:
    experiment_id = client.create_experiment(unique("edit-run"))
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    page.goto(f"{server}/runs/{run_id}")
    assert_every_control_is_named(page)

    page.get_by_text("Rename", exact=True).click()
    page.get_by_label("New run name").fill("")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#rename-form").get_by_role("alert")).to_have_text("New run name must not be empty.")
    page.get_by_label("New run name").fill("after")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("h1")).to_have_text("after")
    assert client.get_run(run_id).info.run_name == "after"

    page.get_by_text("Add or change a tag").click()
    page.get_by_label("Tag key").fill("bad key!")
    page.get_by_label("Tag value").fill("x")
    page.get_by_role("button", name="Set tag").click()
    expect(page.locator("#set-tag").get_by_role("alert")).to_contain_text("invalid tag key 'bad key!'")
    page.get_by_label("Tag key").fill("team")
    page.get_by_label("Tag value").fill("vision")
    page.get_by_role("button", name="Set tag").click()
    expect(page.locator("#tags-table tr[data-tag-key=team]")).to_contain_text("vision")
    assert client.get_run(run_id).data.tags["team"] == "vision"
    page.get_by_role("button", name="Delete tag team").click()
    expect(page.locator("#tags-table tr[data-tag-key=team]")).to_have_count(0)
    assert "team" not in client.get_run(run_id).data.tags

    note = ("# Findings\n\n**Lower** learning rate helps.\n\n"
            "<script>window.hacked = 1</script>\n\n[x](javascript:alert(1))")
    page.get_by_text("Edit description").click()
    page.get_by_label("Description (markdown)").fill(note)
    page.get_by_role("button", name="Save description").click()
    rendered = page.locator("#note-text")
    expect(rendered.locator("h1")).to_have_text("Findings")
    expect(rendered.locator("strong")).to_have_text("Lower")
    expect(rendered).to_contain_text("<script>window.hacked = 1</script>")  # shown as text, not run
    expect(rendered.locator("script")).to_have_count(0)
    expect(rendered.locator("a[href^=javascript]")).to_have_count(0)
    assert page.evaluate("window.hacked") is None
    assert client.get_run(run_id).data.tags[NOTE_TAG] == note

    readable = "### Findings\n\nA **lower** learning rate helps:\n\n- `lr=0.01`: acc 0.93\n- `lr=0.1`: acc 0.88"
    page.get_by_text("Edit description").click()
    expect(page.get_by_label("Description (markdown)")).to_have_value(note)  # the text, not the HTML
    page.get_by_label("Description (markdown)").fill(readable)
    page.get_by_role("button", name="Save description").click()
    expect(rendered.locator("li")).to_have_count(2)
    assert client.get_run(run_id).data.tags[NOTE_TAG] == readable
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "run-edit")
    expect(page.locator(f"#tags-table tr[data-tag-key='{NOTE_TAG}']")).to_have_count(0)  # shown as the note only


def test_delete_a_run_then_restore_it(page: Any, server: str, client: trackflow.Client) -> None:
    experiment_id = client.create_experiment(unique("edit-delete"))
    run_id = client.create_run(experiment_id, run_name="doomed").info.run_id
    client.create_run(experiment_id, run_name="survivor")
    accept_dialogs(page)
    page.goto(f"{server}/runs/{run_id}")
    page.get_by_role("button", name="Delete run").click()
    expect(page.locator("#run-deleted")).to_have_text("deleted")
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"

    page.goto(f"{server}/experiments/{experiment_id}")
    rows = page.locator("#runs tbody tr")
    expect(rows).to_have_count(1)
    page.get_by_label("Show deleted runs").check()
    page.locator("form.search button[type=submit]").click()
    expect(rows).to_have_count(2)
    deleted_row = page.locator(f"#runs tr[data-run-id='{run_id}']")
    expect(deleted_row.locator(".pill.deleted")).to_have_text("deleted")
    deleted_row.get_by_role("button", name="Restore run doomed").click()  # from the table
    expect(deleted_row.locator(".pill.deleted")).to_have_count(0)
    assert client.get_run(run_id).info.lifecycle_stage == "active"

    client.delete_run(run_id)  # and from the run's page
    page.reload()
    deleted_row.get_by_role("link", name="doomed").click()

    page.get_by_role("button", name="Restore run").click()
    expect(page.locator("#run-deleted")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete run")).to_be_visible()
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_rename_experiment_tags_note_delete_and_restore(page: Any, server: str, client: trackflow.Client) -> None:
    name = unique("edit-exp")
    experiment_id = client.create_experiment(name)
    accept_dialogs(page)
    page.goto(f"{server}/experiments/{experiment_id}")
    assert_every_control_is_named(page)

    page.get_by_text("Rename", exact=True).click()
    page.get_by_label("New experiment name").fill("")
    page.get_by_role("button", name="Save name").click()  # no client-side check: the API refuses it
    expect(page.locator("#rename-form").get_by_role("alert")).to_contain_text("experiment name must be a non-empty")
    page.get_by_label("New experiment name").fill(name + "-renamed")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("h1")).to_have_text(name + "-renamed")
    assert client.get_experiment(experiment_id).name == name + "-renamed"

    page.get_by_text("Add or change a tag").focus()  # from the keyboard alone
    page.keyboard.press("Enter")  # opens the disclosure
    page.keyboard.press("Tab")
    expect(page.get_by_label("Tag key")).to_be_focused()
    page.keyboard.type("owner")
    page.keyboard.press("Tab")
    page.keyboard.type("ada")
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#tags-table tr[data-tag-key=owner]")).to_contain_text("ada")
    expect(page.locator("#tags")).to_be_focused()  # focus lands on the re-rendered section
    assert client.get_experiment(experiment_id).tags["owner"] == "ada"

    page.get_by_text("Edit description").click()
    page.get_by_label("Description (markdown)").fill("Runs of *the* sweep")
    page.get_by_role("button", name="Save description").click()
    expect(page.locator("#note-text em")).to_have_text("the")
    assert client.get_experiment(experiment_id).tags[NOTE_TAG] == "Runs of *the* sweep"

    page.get_by_role("button", name="Delete experiment").click()
    expect(page.locator("#experiment-deleted")).to_be_visible()
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    page.get_by_role("button", name="Restore experiment").click()
    expect(page.locator("#experiment-deleted")).to_have_count(0)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def registered(client: trackflow.Client, versions: int) -> str:
    name = unique("edit-model")
    client.create_registered_model(name)
    for _ in range(versions):
        client.create_model_version(name, "file:///tmp/model")
    return name


def test_set_move_and_delete_an_alias(page: Any, server: str, client: trackflow.Client) -> None:
    name = registered(client, 2)
    page.goto(f"{server}/models/{name}")
    assert_every_control_is_named(page)
    page.get_by_text("Set or move an alias").click()
    page.get_by_role("textbox", name="Alias").fill("champion")
    page.get_by_label("Version").select_option("1")
    page.get_by_role("button", name="Set alias").click()
    expect(page.locator("#aliases-table tr[data-alias=champion]")).to_contain_text("v1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"

    page.get_by_text("Set or move an alias").click()  # the section was re-rendered, closed
    page.get_by_role("textbox", name="Alias").fill("champion")
    page.get_by_label("Version").select_option("2")
    page.get_by_role("button", name="Set alias").click()
    expect(page.locator("#aliases-table tr[data-alias=champion]")).to_contain_text("v2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"

    page.get_by_text("Set or move an alias").click()
    page.get_by_role("textbox", name="Alias").fill("latest")
    page.get_by_role("button", name="Set alias").click()
    expect(page.locator("#set-alias").get_by_role("alert")).to_contain_text("'latest' is reserved")
    shoot(page, "model-edit")
    for refused in ("v1", "latest"):  # MLflow refuses both: they would read as a version
        page.get_by_role("textbox", name="Alias").fill(refused)
        page.get_by_role("button", name="Set alias").click()
        expect(page.locator("#set-alias").get_by_role("alert")).to_contain_text(f"alias {refused!r} is reserved")

    page.get_by_role("button", name="Delete alias @champion").click()
    expect(page.locator("#aliases-table")).to_have_count(0)
    with pytest.raises(NotFound):
        client.get_model_version_by_alias(name, "champion")

    page.goto(f"{server}/models/{name}/versions/1")  # and from a version's page
    page.get_by_text("Point an alias to this version").click()
    page.get_by_role("textbox", name="Alias").fill("staging")
    page.get_by_role("button", name="Set alias").click()
    expect(page.locator("#version-aliases li[data-alias=staging]")).to_be_visible()
    assert client.get_model_version_by_alias(name, "staging").version == "1"
    page.get_by_role("button", name="Delete alias @staging").click()
    expect(page.locator("#version-aliases")).to_have_count(0)
    assert client.get_registered_model(name).aliases == {}


def test_model_and_version_descriptions_tags_and_version_delete(
    page: Any, server: str, client: trackflow.Client
) -> None:
    name = registered(client, 2)
    accept_dialogs(page)
    page.goto(f"{server}/models/{name}")
    page.get_by_text("Edit description").click()
    page.get_by_label("Description (markdown)").fill("Classifies **irises**")
    page.get_by_role("button", name="Save description").click()
    expect(page.locator("#note-text strong")).to_have_text("irises")
    assert client.get_registered_model(name).description == "Classifies **irises**"
    page.get_by_text("Add or change a tag").click()
    page.get_by_label("Tag key").fill("task")
    page.get_by_label("Tag value").fill("classification")
    page.get_by_role("button", name="Set tag").click()
    expect(page.locator("#tags-table tr[data-tag-key=task]")).to_contain_text("classification")
    assert client.get_registered_model(name).tags == {"task": "classification"}
    page.get_by_role("button", name="Delete tag task").click()
    expect(page.locator("#tags-table")).to_have_count(0)
    assert client.get_registered_model(name).tags == {}

    page.goto(f"{server}/models/{name}/versions/2")
    assert_every_control_is_named(page)
    page.get_by_text("Edit description").click()
    page.get_by_label("Description (markdown)").fill("retrained on *more* data")
    page.get_by_role("button", name="Save description").click()
    expect(page.locator("#note-text em")).to_have_text("more")
    assert client.get_model_version(name, 2).description == "retrained on *more* data"
    page.get_by_text("Add or change a tag").click()
    page.get_by_label("Tag key").fill("validated")
    page.get_by_label("Tag value").fill("yes")
    page.get_by_role("button", name="Set tag").click()
    expect(page.locator("#tags-table tr[data-tag-key=validated]")).to_contain_text("yes")
    assert client.get_model_version(name, 2).tags == {"validated": "yes"}

    page.get_by_role("button", name="Delete version").click()
    expect(page).to_have_url(f"{server}/models/{name}")  # sent back to the model
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    with pytest.raises(NotFound):
        client.get_model_version(name, 2)
    assert client.get_model_version(name, 1).version == "1"


def test_dismissed_confirm_deletes_nothing(page: Any, server: str, client: trackflow.Client) -> None:
    name = registered(client, 1)
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.goto(f"{server}/models/{name}/versions/1")
    page.get_by_role("button", name="Delete version").click()
    expect(page.locator("h1")).to_have_text(f"{name} v1")
    assert client.get_model_version(name, 1).version == "1"


def test_sort_runs_by_clicking_a_metric_header_and_by_keyboard(
    page: Any, server: str, client: trackflow.Client
) -> None:
    experiment_id = client.create_experiment(unique("edit-sort"))
    for run_name, acc, loss in (("mid", 0.5, 0.2), ("low", 0.1, 0.3), ("high", 0.9, 0.1)):
        run_id = client.create_run(experiment_id, run_name=run_name).info.run_id
        client.log_metric(run_id, "acc", acc)
        client.log_metric(run_id, "loss", loss)
    page.goto(f"{server}/experiments/{experiment_id}")
    names = page.locator("#runs tbody tr td:nth-child(2) a")
    acc = page.locator("#runs th[data-sort-column='m:acc']")
    expect(acc).to_have_attribute("aria-sort", "none")
    page.evaluate("window.notReloaded = true")

    acc.get_by_role("link", name="acc").click()
    expect(acc).to_have_attribute("aria-sort", "ascending")
    expect(names).to_have_text(["low", "mid", "high"])
    assert "order_by=metrics.%60acc%60+ASC" in page.url
    acc = page.locator("#runs th[data-sort-column='m:acc']")  # the table was swapped in
    acc.get_by_role("link", name="acc").click()
    expect(page.locator("#runs th[data-sort-column='m:acc']")).to_have_attribute("aria-sort", "descending")
    expect(names).to_have_text(["high", "mid", "low"])
    api = httpx.post(f"{server}/api/v1/runs/search", timeout=30, json={
        "experiment_ids": [experiment_id], "order_by": ["metrics.`acc` DESC"]}).json()
    assert [r["info"]["run_name"] for r in api["runs"]] == ["high", "mid", "low"]

    loss = page.locator("#runs th[data-sort-column='m:loss'] a.sort")
    loss.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#runs th[data-sort-column='m:loss']")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#runs th[data-sort-column='m:acc']")).to_have_attribute("aria-sort", "none")
    expect(names).to_have_text(["high", "mid", "low"])
    expect(page.locator("#runs th[data-sort-column='m:loss'] a.sort")).to_be_focused()  # focus kept
    expect(page.locator("input[name=order_by]")).to_have_value("metrics.`loss` ASC")
    assert page.evaluate("window.notReloaded") is True  # swapped in, not a page load

    page.go_back()  # history follows the sort
    expect(page.locator("#runs th[data-sort-column='m:acc']")).to_have_attribute("aria-sort", "descending")


def test_page_json_lists_deleted_runs_and_the_sorted_column(server: str, client: trackflow.Client) -> None:
    experiment_id = client.create_experiment(unique("edit-json"))
    kept = client.create_run(experiment_id, run_name="kept").info.run_id
    gone = client.create_run(experiment_id, run_name="gone").info.run_id
    client.delete_run(gone)
    url = f"{server}/api/v1/ui/experiments/{experiment_id}"
    active = httpx.get(url, params={"order_by": "attributes.run_name DESC"}, timeout=30).json()
    assert [r["run_id"] for r in active["runs"]] == [kept]
    assert (active["sort_column"], active["sort_ascending"]) == ("a:run_name", False)
    everything = httpx.get(url, params={"show_deleted": "true", "order_by": "attributes.run_name"}, timeout=30).json()
    assert [(r["run_name"], r["lifecycle_stage"]) for r in everything["runs"]] == [("gone", "deleted"),
                                                                                   ("kept", "active")]
    assert (everything["sort_column"], everything["sort_ascending"]) == ("a:run_name", True)
