"""Data: bring your own data (file or database), map, validate, import; and data health.

The import itself is ``data.importer``: validation runs first and the write is
all-or-nothing, so nothing here can damage the data already loaded. The page adds
the steps a person needs: preview, a mapping form pre-filled with the suggested
mapping, the validation report in plain words, and an Import button that is enabled
only for the exact upload, table, mapping and mode that passed validation, and that
runs at most once for them (a double click does not import twice).

One module over 400 lines on purpose: the upload, mapping, validation and import steps share one upload key
and its session state, which makes the double-submit guard one piece.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from components import auth, cached, charts, data_support, layout, plot
from components import formatting as fmt
from components.session import data_version, settings, workspace
from data.errors import UserError
from data.health import data_health
from data.importer import ImportSpec, import_flat, import_tables
from data.mapping import IMPORTABLE_TABLES, Mapping, normalise_name, suggest_mapping, suggest_value_map
from data.opstore import audit
from data.sources import Source, SourcePreview, check_select_query, mask_url, preview_source
from data.uploads import save_upload
from data.users import is_demo
from data.validation import ImportValidationError, ValidationReport

FLAT = "flat"
IMPORT_TABLES = {
    "accounts": "Accounts", "subscriptions": "Subscriptions", "events": "Product usage events",
    "tickets": "Support tickets", "nps": "NPS answers", "invoices": "Invoices", "contacts": "Contacts",
    FLAT: "Flat table with churn label (one row per account)",
}
TABLE_HELP = {
    "accounts": "One row per customer account. Required before anything else; other columns become custom attributes.",
    "subscriptions": "One row per subscription period: start, end (empty while active), MRR, seats.",
    "events": "Product usage: one row per event or per account, day and event type with a count.",
    "tickets": "Support tickets with open and close times, priority and CSAT.",
    "nps": "NPS survey answers: score 0-10 and an optional comment.",
    "invoices": "Invoices with issue, due and paid dates, amount and status.",
    "contacts": "People at each account with their role and when they were active.",
    FLAT: "A CRM export with one row per account and a churned column. Replaces all data in this workspace.",
}
NOT_MAPPED = "— not mapped —"
PREVIEW_ROWS = 20
FEW_VALUES = 12
HEALTH_ROWS = {"events": "events", "tickets": "tickets", "nps": "answers", "invoices": "invoices",
               "subscriptions": "subscriptions started", "accounts": "accounts created", "contacts": "contacts added"}

user = auth.current_user()
ws = workspace()
max_mb = settings().max_upload_mb
state = st.session_state


@dataclass
class Upload:
    """A source the user gave: a file saved to a temp path, or a database table/query."""

    token: str  # changes whenever the bytes (or the database request) change
    source: Source
    label: str  # safe to show: file name, or table/query on the masked URL


def _audited(action: str, target: str | None, **detail) -> None:
    with ws.engine.begin() as conn:
        audit(conn, user.username, action, target, **detail)


def _file_upload(uploaded) -> Upload:
    """Save the uploaded bytes once per upload (by content hash, in the workspace) and describe them as a Source."""
    known = state.setdefault("data_upload_tokens", {})
    if uploaded.file_id not in known or not Path(known[uploaded.file_id][1]).exists():
        digest, path = save_upload(ws.settings.uploads_dir, uploaded.name, uploaded.getvalue())
        known[uploaded.file_id] = (f"file:{digest}:{path.name}", str(path))
    token, path = known[uploaded.file_id]
    return Upload(token, Source(path=path), Path(path).name)


def _preview(upload: Upload) -> SourcePreview:
    previews = state.setdefault("data_previews", {})
    if upload.token not in previews:
        previews.clear()  # keep one preview per session; files can be large
        try:
            previews[upload.token] = preview_source(upload.source, max_mb=max_mb, rows=PREVIEW_ROWS,
                                                    few_values=FEW_VALUES)
        except UserError as exc:
            previews[upload.token] = str(exc)
            _audited("data.import_failed", None, source=upload.label, reason=str(exc)[:300])
    if isinstance(previews[upload.token], str):
        raise UserError(previews[upload.token])
    return previews[upload.token]


def _guess_target(label: str) -> str:
    name = normalise_name(Path(label).stem)
    for table in IMPORT_TABLES:
        if table != FLAT and (name == table or name.startswith(table) or name.endswith(table)):
            return table
    return "accounts"


def _problem_table(examples: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(examples)
    if "row" in df.columns:
        df = df.rename(columns={"row": "row in file"})
    return df


def show_report(report: ValidationReport, table_label: str) -> None:
    """The validation report in plain words: what stops the import, what is only a warning, example rows."""
    rows = sum(report.rows.values())
    if report.ok and not report.warnings:
        st.success(f"Validation passed: {rows:,} rows are ready to import into {table_label}. No problems found.",
                   icon=":material/check_circle:")
        return
    if report.ok:
        st.success(f"Validation passed with {len(report.warnings)} warning(s): {rows:,} rows can be imported "
                   f"into {table_label}. Read the warnings first.", icon=":material/check_circle:")
    else:
        st.error(f"{len(report.errors)} problem(s) stop this import. Nothing has been written; fix the file or "
                 "the mapping and validate again.", icon=":material/error:")
    for problem in report.errors + report.warnings:
        where = f"{problem.table}.{problem.column}" if problem.table and problem.column else (problem.table or "")
        kind = "Error" if problem.severity == "error" else "Warning"
        box = st.container(border=True)
        box.markdown(f"{':red' if problem.severity == 'error' else ':orange'}[**{kind}**] · `{where}` · "
                     f"**{problem.count:,}** row(s)\n\n{problem.message[:1].upper()}{problem.message[1:]}.")
        if problem.examples:
            box.caption("Example rows (row numbers count data rows, not the header):")
            box.dataframe(_problem_table(problem.examples), hide_index=True)


def _validation_key(upload: Upload, target: str, spec: str, mode: str) -> str:
    return hashlib.sha256("\x1f".join([upload.token, target, spec, mode]).encode()).hexdigest()[:24]


def _run(upload: Upload, target: str, mapping: Mapping | None, flat: dict | None, mode: str, *, dry_run: bool,
         allow_orphans: bool = False):
    if target == FLAT:
        return import_flat(ws.warehouse, upload.source, flat["id"], flat["label"], flat["positive"],
                           max_mb=max_mb, dry_run=dry_run)
    return import_tables(ws.warehouse, [ImportSpec(target, upload.source, mapping)], mode, max_mb=max_mb,
                         dry_run=dry_run, allow_orphans=allow_orphans)


def _load_mapping_file() -> None:
    """on_change of the mapping uploader: parse the YAML and switch the target table to it."""
    uploaded = state.get("data_mapping_file")
    state.pop("data_mapping_error", None)
    if uploaded is None:
        return
    try:
        # lookup files named in the mapping are read only from this workspace's upload folder
        mapping = Mapping.from_yaml(uploaded.getvalue().decode("utf-8", errors="replace"),
                                    base_dir=ws.settings.uploads_dir)
    except UserError as exc:
        state["data_mapping_error"] = f"{uploaded.name}: {exc}"
        return
    if mapping.table == "account_labels":
        state["data_mapping_error"] = f"{uploaded.name} maps churn labels; use the flat table target instead."
        return
    state["data_loaded_mapping"] = mapping
    state["data_target"] = mapping.table
    state["data_form_rev"] = state.get("data_form_rev", 0) + 1


# ====================================================================== page
st.title("Data")
st.caption("Load your own customer data from files or a database, check it, and see whether it is fit to train on.")
import_tab, health_tab = st.tabs(["Import data", "Data health"])

# ---------------------------------------------------------------- health
with health_tab:

    @st.cache_data(show_spinner=False, max_entries=4)
    def _health(version: str, today) -> dict:
        return data_health(workspace().warehouse, today)

    if not layout.has_data():
        layout.no_data_notice()
    else:
        as_of = cached.as_of()
        health = _health(data_version(), as_of)
        st.caption(f"Freshness is measured against {as_of:%d %b %Y}, the date this workspace's data describes.")
        warnings = [(t, w) for t, h in health.items() for w in h.warnings]
        layout.health_warnings(
            warnings, "No data-health warnings: every table is present, fresh and covers the accounts.")
        summary = pd.DataFrame([{
            "table": t, "rows": h.rows,
            "accounts": h.accounts_covered if h.accounts_covered is not None else None,
            "coverage": h.coverage, "first": pd.Timestamp(h.first) if h.first is not None else None,
            "last": pd.Timestamp(h.last) if h.last is not None else None,
            "freshness": h.freshness_days, "warnings": len(h.warnings),
        } for t, h in health.items()])
        for col in ("first", "last"):
            summary[col] = pd.to_datetime(summary[col])
        summary["freshness"] = summary["freshness"].astype("Int64")
        summary["accounts"] = summary["accounts"].astype("Int64")
        st.dataframe(summary, hide_index=True, key="health_table", column_config={
            "table": "Table", "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "accounts": st.column_config.NumberColumn("Accounts covered", format="localized"),
            "coverage": st.column_config.ProgressColumn("Share of accounts", format="percent", min_value=0,
                                                        max_value=1),
            "first": st.column_config.DateColumn("From", format="D MMM YYYY"),
            "last": st.column_config.DateColumn("To", format="D MMM YYYY"),
            "freshness": st.column_config.NumberColumn("Newest row (days old)", format="%d"),
            "warnings": st.column_config.NumberColumn("Warnings", format="%d")}, placeholder="–")
        pick = st.selectbox("Look at one table", list(health), index=list(health).index("events"),
                            format_func=lambda t: IMPORT_TABLES.get(t, t.replace("_", " ").capitalize()), key="health_pick")
        h = health[pick]
        c = st.columns(4)
        c[0].metric("Rows", f"{h.rows:,}", border=True, height="stretch")
        c[1].metric("Accounts covered", "–" if h.accounts_covered is None else f"{h.accounts_covered:,}",
                    delta=None if h.coverage is None else f"{h.coverage:.0%} of {h.accounts_total:,}",
                    delta_color="off", delta_arrow="off", border=True, height="stretch")
        if h.first is not None:
            first, last = pd.Timestamp(h.first), pd.Timestamp(h.last)
            months = (last.year - first.year) * 12 + last.month - first.month + 1
            c[2].metric("Date range", f"{months} months", delta=f"{first:%b %Y} – {last:%b %Y}",
                        delta_color="off", delta_arrow="off", border=True, height="stretch")
        else:
            c[2].metric("Date range", "–", border=True, height="stretch")
        c[3].metric("Freshness", "–" if h.freshness_days is None else f"{fmt.plural(h.freshness_days, 'day')} old",
                    help="Days from the newest row to the workspace's as-of date", border=True, height="stretch")
        for warning in h.warnings:
            st.warning(warning, icon=":material/warning:")
        left, right = st.columns([3, 2])
        with left:
            what = HEALTH_ROWS.get(pick, "rows")
            st.subheader(f"{what.capitalize()} per day")
            st.caption("How to read this: bars are daily counts, the line their 7-day average. Gaps and cliffs "
                       "usually mean a broken feed, not a change in customers.")
            plot.show(charts.deck_title(charts.fig_events_per_day(h.per_day, what=what), f"{what.capitalize()} per day",
                                        units=f"{what} per day · table {pick}", as_of=cached.as_of()),
                      key="health_per_day")
        with right:
            st.subheader("Empty values")
            st.caption("How to read this: the share of rows where each column is empty; red bars (half or more "
                       "empty) add little to a model.")
            plot.show(charts.deck_title(charts.fig_null_rates(h.null_rates), "Empty values",
                                        units=f"share of rows empty · table {pick}", as_of=cached.as_of()),
                      key="health_nulls")

# ---------------------------------------------------------------- import
with import_tab:
    if last := state.pop("data_last_import", None):
        st.success(last, icon=":material/check_circle:")
    if layout.has_data():
        with st.container(border=True):
            data_support.render(user.username)

    st.subheader("1 · Choose the data")
    kind = st.segmented_control("Source", ["Upload a file", "Connect to a database"], default="Upload a file",
                                key="data_source_kind", required=True, label_visibility="collapsed")
    upload: Upload | None = None
    if kind == "Upload a file":
        uploaded = st.file_uploader(
            "File", type=["csv", "tsv", "parquet", "xlsx"], max_upload_size=max_mb, key="data_upload",
            help=f"CSV/TSV (any delimiter and encoding), Parquet or Excel .xlsx, up to {max_mb:,} MB.")
        if uploaded is not None:
            upload = _file_upload(uploaded)
    else:
        with st.form("data_db"):
            url = st.text_input("Database URL (SQLAlchemy)", type="password", key="data_db_url",
                                placeholder="postgresql+psycopg2://user:password@host:5432/crm",
                                help="Kept only in this browser session; never shown again, stored or logged. "
                                     "Messages show it with the password masked.")
            read = st.radio("Read", ["A table", "A read-only SELECT query"], horizontal=True, key="data_db_read")
            db_table = st.text_input("Table (or schema.table)", key="data_db_table", max_chars=200)
            db_query = st.text_area("SELECT query", key="data_db_query", height=100, max_chars=20_000,
                                    placeholder="SELECT id AS account_id, name, plan FROM customers")
            connect = st.form_submit_button("Connect and preview", icon=":material/cable:")
        if connect:
            try:
                if not url.strip():
                    raise UserError("Enter a database URL such as postgresql+psycopg2://user:password@host/db.")
                if read == "A table":
                    if not db_table.strip():
                        raise UserError("Enter the name of the table to read.")
                    source = Source(url=url.strip(), table=db_table.strip())
                else:
                    source = Source(url=url.strip(), query=check_select_query(db_query))
                request = "\x1f".join([url.strip(), source.table or "", source.query or ""])
                db_upload = Upload("db:" + hashlib.sha256(request.encode()).hexdigest()[:24], source, source.label)
                state.get("data_previews", {}).pop(db_upload.token, None)  # reconnecting reads fresh rows
                _preview(db_upload)
            except UserError as exc:
                st.error(str(exc))
            else:
                state["data_db_upload"] = db_upload
                _audited("data.connect", mask_url(url.strip()), table=source.table, query=bool(source.query))
        upload = state.get("data_db_upload")
        if upload is not None:
            st.caption(f"Connected: {upload.label}")

    if upload is None:
        st.info("Upload a file or connect to a database to start. Begin with **accounts**: every other table "
                "refers to them. The Learn page explains what each table is used for.", icon=":material/upload:")
        st.stop()

    try:
        preview = _preview(upload)
    except UserError as exc:
        st.error(str(exc))
        st.stop()

    st.subheader("2 · Preview and target table")
    st.caption(f"{upload.label} · {preview.rows:,} rows · {len(preview.columns)} columns · first "
               f"{min(PREVIEW_ROWS, preview.rows)} rows shown")
    st.dataframe(preview.head, hide_index=True, height=260, key="data_preview", placeholder="–")

    if state.get("data_target_for") != upload.token:  # a new source: guess its table from the file name
        state["data_target_for"] = upload.token
        if "data_loaded_mapping" not in state:
            state["data_target"] = _guess_target(upload.label)
    t1, t2 = st.columns([2, 3])
    target = t1.selectbox("Import into", list(IMPORT_TABLES), format_func=IMPORT_TABLES.get, key="data_target")
    t2.caption(TABLE_HELP[target])
    with t2:
        st.file_uploader("Load a saved mapping (YAML)", type=["yaml", "yml"], key="data_mapping_file", max_upload_size=1,
                         on_change=_load_mapping_file, help="A mapping saved from this page or used with the CLI "
                         "(cli.py import --mapping FILE).")
    if err := state.get("data_mapping_error"):
        st.error(err)

    st.subheader("3 · Map the columns")
    rev = state.get("data_form_rev", 0)
    options = [NOT_MAPPED, *preview.columns]
    flat: dict | None = None
    mapping: Mapping | None = None
    with st.form(f"data_mapping_{target}_{rev}"):
        if target == FLAT:
            guess = suggest_mapping(preview.columns, preview.types, "account_labels").targets
            f1, f2, f3 = st.columns(3)
            id_col = f1.selectbox("Account ID column", preview.columns, key=f"flat_id_{rev}",
                                  index=preview.columns.index(guess.get("account_id", preview.columns[0])))
            label_default = guess.get("label") or next(iter(preview.few_values), preview.columns[-1])
            label_col = f2.selectbox("Churn label column", preview.columns, key=f"flat_label_{rev}",
                                     index=preview.columns.index(label_default))
            positive = f3.text_input("Value that means churned", key=f"flat_positive_{rev}", max_chars=100,
                                     placeholder="detected for Yes/No, true/false, 1/0",
                                     help="Leave empty when the column holds Yes/No, true/false, 1/0, Y/N or "
                                          "churned/active.")
            labelled = {c: v for c, v in preview.few_values.items() if c != id_col}
            if labelled:
                st.caption("Columns with few values: " + "; ".join(
                    f"**{c}**: {', '.join(v)}" for c, v in list(labelled.items())[:6]))
            st.warning("A flat import replaces every table in this workspace with these accounts and their labels.",
                       icon=":material/warning:")
            mode = "replace"
        else:
            loaded = state.get("data_loaded_mapping")
            base = loaded if loaded is not None and loaded.table == target else suggest_mapping(
                preview.columns, preview.types, target)
            missing = [c for c in base.columns if c not in preview.columns]
            if missing:
                st.warning(f"The loaded mapping names column(s) this source does not have: {', '.join(missing)}. "
                           "They are left unmapped.")
            st.caption("Each canonical column takes one column of your data; required columns are marked *. "
                       "The suggestion comes from the column names and types.")
            picks: dict[str, str] = {}
            grid = st.columns(3)
            for i, (col, typ, nullable) in enumerate(IMPORTABLE_TABLES[target]):
                current = base.targets.get(col)
                picks[col] = grid[i % 3].selectbox(
                    f"{col}{'' if nullable else ' *'}", options, key=f"map_{target}_{col}_{rev}",
                    index=options.index(current) if current in options else 0,
                    help=f"type {typ.lower()}" + ("" if nullable else ", required"))
            keep_extra = True
            if target == "accounts":
                keep_extra = st.checkbox("Keep the other columns as custom attributes (they become model features)",
                                         value=bool(base.extra) or loaded is None, key=f"keep_extra_{rev}")
            kept = [(c, m) for c, m in base.values.items()] + [(c, f"format {f}") for c, f in base.formats.items()]
            if kept:
                st.caption("From the loaded mapping, also applied: " + ", ".join(f"{c} ({'value map' if isinstance(m, dict) else m})"
                                                                                for c, m in kept))
            mode = st.radio("When importing", ["replace", "append"], horizontal=True, key=f"data_mode_{rev}",
                            format_func={"replace": "Replace this table", "append": "Append to this table"}.get,
                            help="Replace swaps the whole table for this file; append adds rows (duplicate keys "
                                 "are refused).")
            allow_orphans = False
            if target == "accounts":
                allow_orphans = st.checkbox(
                    "Leave orphaned rows", value=False, key=f"data_allow_orphans_{rev}",
                    help="Replacing accounts with a file that lacks some of them leaves their events, subscriptions "
                         "and other rows without an account. Validation counts them; tick this to import anyway.")
        validate = st.form_submit_button("Validate", type="primary", icon=":material/rule:")

    if validate:
        try:
            if target == FLAT:
                if id_col == label_col:
                    raise UserError("The account ID and the churn label must be different columns.")
                flat = {"id": id_col, "label": label_col, "positive": positive.strip() or None}
                spec = repr(sorted(flat.items(), key=lambda kv: kv[0]))
            else:
                chosen = {src: dst for dst, src in picks.items() if src != NOT_MAPPED}
                doubled = [src for src in chosen if list(picks.values()).count(src) > 1]
                if doubled:
                    raise UserError(f"Column {doubled[0]!r} is mapped to more than one canonical column; map it once.")
                extra = [c for c in preview.columns if c not in chosen] if target == "accounts" and keep_extra else []
                mapping = Mapping(target, columns=chosen, values=dict(base.values), formats=dict(base.formats),
                                  extra=extra, defaults=dict(base.defaults), lookup=list(base.lookup),
                                  base_dir=base.base_dir)
                spec = mapping.to_yaml()
            allow = target != FLAT and allow_orphans
            key = _validation_key(upload, target, spec + ("\x1forphans" if allow else ""), mode)
            try:
                result = _run(upload, target, mapping, flat, mode, dry_run=True, allow_orphans=allow)
                report = result.report
            except ImportValidationError as exc:
                report = exc.report
            state["data_validation"] = {"key": key, "token": upload.token, "target": target, "mode": mode,
                                        "mapping": mapping, "flat": flat, "report": report,
                                        "allow_orphans": allow}
        except UserError as exc:
            state.pop("data_validation", None)
            st.error(str(exc))

    validation = state.get("data_validation")
    if validation and (validation["token"], validation["target"]) != (upload.token, target):
        validation = None

    st.subheader("4 · Validate and import")
    if validation is None:
        st.caption("Validate to check every row before anything is written. The Import button is enabled once "
                   "validation passes.")
    else:
        report: ValidationReport = validation["report"]
        show_report(report, IMPORT_TABLES[target] if target != FLAT else "accounts and churn labels")
        if validation["flat"] and report.ok:
            values = preview.few_values.get(validation["flat"]["label"], [])
            positive = validation["flat"]["positive"]
            value_map = ({v.lower(): int(v.lower() == positive.lower()) for v in values} if positive
                         else suggest_value_map(values))
            if value_map:
                st.caption("Churn label: " + ", ".join(f"{k} → {'churned' if v else 'retained'}"
                                                       for k, v in value_map.items()))
        if validation["mapping"] is not None:
            st.download_button("Save this mapping (YAML)", validation["mapping"].to_yaml().encode("utf-8"),
                               file_name=f"{target}_mapping.yaml", mime="application/x-yaml", on_click="ignore",
                               icon=":material/download:", key="data_save_mapping")

    imported = state.setdefault("data_imported", {})
    done = validation is not None and validation["key"] in imported
    ready = validation is not None and validation["report"].ok and not done
    rows = sum(validation["report"].rows.values()) if validation else 0
    verb = "Replace all data with" if target == FLAT else (
        "Append" if validation and validation["mode"] == "append" else "Import")
    if ready and is_demo(settings().auth_file):
        st.warning("This is the demo workspace. Importing your own data ends the demo: the demo logins, whose "
                   "passwords are public, are disabled, including the one you may be using now. Add your own "
                   "admin first (Admin → Users, or `python cli.py users add`).", icon=":material/warning:")
    clicked = st.button(f"{verb} {rows:,} rows" if ready else "Import", type="primary", disabled=not ready,
                        key="data_import", icon=":material/database_upload:")
    if done:
        st.caption(f"This upload was already imported with this mapping ({imported[validation['key']]}). "
                   "Upload a new file or change the mapping to import again.")
    if clicked and ready:
        imported[validation["key"]] = "in progress"  # recorded before the write: a second click is a no-op
        try:
            result = _run(upload, target, validation["mapping"], validation["flat"], validation["mode"],
                          dry_run=False, allow_orphans=validation.get("allow_orphans", False))
        except UserError as exc:
            imported.pop(validation["key"], None)
            _audited("data.import_failed", target, source=upload.label, mode=validation["mode"],
                     reason=str(exc)[:300])
            st.error(str(exc))
        else:
            imported[validation["key"]] = f"{result.rows:,} rows"
            _audited("data.import", target, source=upload.label, mode=result.mode, tables=result.tables,
                     rows=result.rows, version=result.version)
            parts = ", ".join(f"{n:,} rows into {t}" for t, n in result.tables.items())
            state["data_last_import"] = (f"Imported {parts} ({result.mode}) from {upload.label}. Every page now "
                                         "shows the new data; below is what it supports and the next step.")
            st.rerun()
