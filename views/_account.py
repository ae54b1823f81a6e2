"""Account 360: header, scores and reasons, what-if, usage, timeline, playbooks and notes, contacts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import auth, cached, cached_scores, charts, data_support, layout, plot, score_now
from components import formatting as fmt
from components import what_if as what_if_inputs
from components.session import workspace
from data.access import NotInBook
from data.errors import UserError
from data.notes import add_note, list_notes
from data.readmodel import RULE_SCORE_NAME, is_rule_score, rule_bands_text
from models.scoring import what_if

PICKER_LIMIT = 2_000  # larger books are searched first, then picked from the matches
PICKER_MATCHES = 50


def _rule_header(explanation, technical: bool) -> None:
    """The score block of an account scored by the rule health score (no model yet): its 0-100 score and
    band, what the score is, and when it was made."""
    r = st.columns(3)
    health = explanation.health_score
    r[0].metric(f"{RULE_SCORE_NAME} · {explanation.risk_band} risk", "–" if health is None else f"{health:.0f} / 100",
                border=True, help=rule_bands_text())
    failed = len(explanation.risk_drivers)
    r[1].metric("Rules failed", f"{failed:,}", border=True,
                help="Rules this account fails among those its data can answer; the Why tab lists them.")
    r[2].metric("Expected ARR loss", "–", border=True,
                help="A rule score is not a probability, so no expected loss is computed until a model is trained.")
    model = f" Scored `{explanation.model_id}`" if technical else " Scored"
    st.caption(f"Scores in use: **{RULE_SCORE_NAME}** (no trained model yet). {rule_bands_text()}{model} "
               f"{explanation.scored_at:%d %b %Y %H:%M}; a promoted model's calibrated churn probability takes over "
               "at the next scoring.")


def _rule_reasons(explanation) -> None:
    """The Why tab for a rule health score: the failed rules in plain words, costliest first."""
    st.subheader(f"Why this {RULE_SCORE_NAME.lower()}")
    reasons = explanation.risk_drivers
    if reasons.empty:
        st.success("This account passes every rule its data can answer.", icon=":material/check_circle:")
        return
    st.caption("Each line is a rule this account fails, with what the rule counts as healthy; the points are the "
               "share of the 100-point score it costs.")
    for group, part in reasons.groupby("group", sort=False):
        st.markdown(f"**{group}**")
        st.markdown("\n".join(f"- {r.sentence} (costs {r.shap * 100:.0f} points)" for r in part.itertuples()))


def _drivers_in_words(drivers: pd.DataFrame) -> dict[str, str]:
    """Driver group -> a markdown list of its drivers' sentences with their direction, in rank order.

    Groups come in the order of their highest-ranked driver; drivers without a group are left out.
    """
    ranked = drivers.sort_values("rank")
    lines: dict[str, list[str]] = {}
    for group, shap, sentence in zip(ranked["group"].tolist(), ranked["shap"].tolist(), ranked["sentence"].tolist(),
                                     strict=True):
        if pd.isna(group):
            continue
        arrow = ":red[▲ raises risk]" if shap > 0 else ":green[▼ lowers risk]"
        lines.setdefault(group, []).append(f"- {sentence} — {arrow}")
    return {group: "\n".join(items) for group, items in lines.items()}


def render() -> None:
    """Draw the Account page for the signed-in user; ``views/account.py`` calls it on every run."""
    user = auth.current_user()
    viewer = auth.viewer(user)

    if not layout.has_data():
        st.title("Account")
        layout.no_data_notice()
        st.stop()

    account_id = st.query_params.get("id")
    if not account_id:
        st.title("Account")
        total = cached_scores.book_size(viewer)
        if not total:
            st.info("Your book has no accounts yet.")
            st.stop()
        needle = None
        if total > PICKER_LIMIT:  # a list of every account would be megabytes in the browser
            needle = st.text_input("Find an account", placeholder="Part of a company name or ID",
                                   max_chars=200).strip()
            if not needle:
                st.caption(f"Your book has {total:,} accounts: type part of a name or ID, or use Accounts "
                           "to filter and sort them.")
                st.stop()
        choices, matched = cached_scores.find_accounts(viewer, needle, PICKER_MATCHES if needle else PICKER_LIMIT)
        if needle is not None:
            if choices.empty:
                st.info("No account in your book matches this search.")
                st.stop()
            st.caption(f"{matched:,} accounts match" + (f"; the first {PICKER_MATCHES} by ARR are listed."
                                                       if matched > PICKER_MATCHES else "."))
        names = dict(zip(choices["account_id"], choices["name"], strict=True))  # one lookup per option
        choice = st.selectbox(
            "Open an account",
            choices["account_id"],
            index=None,
            format_func=lambda a: f"{names[a]} ({a})",
            placeholder="Type to search your book",
        )
        if choice:
            st.query_params["id"] = choice
            st.rerun()
        st.stop()

    try:
        detail = cached.account_detail(viewer, account_id)
    except NotInBook:
        st.title("Account")
        st.error(f"Account {account_id!r} is not in your book.")
        st.page_link("views/accounts.py", label="Back to your accounts", icon=":material/arrow_back:")
        st.stop()

    acct = detail["overview"]
    as_of = pd.Timestamp(cached.as_of())

    st.page_link("views/accounts.py", label="All accounts", icon=":material/arrow_back:")
    st.title(acct["name"])
    badges = st.container(horizontal=True)
    with badges:
        status_color = {"active": "green", "churned": "red"}.get(acct["status"], "gray")
        st.badge(acct["status"].capitalize(), color=status_color)
        for value in (acct["segment"], acct["plan"], acct["region"], acct["industry"]):
            if isinstance(value, str) and value:
                st.badge(value, color="gray")
        st.badge(acct["account_id"], color="blue")
        st.badge(f"CSM: {acct['csm'] or 'unassigned'}", icon=":material/person:", color="violet")

    renewal = acct["renewal_date"]
    if pd.notna(renewal):
        days_left = (pd.Timestamp(renewal) - as_of).days
        renewal_text = f"in {fmt.plural(days_left, 'day')}"
        renewal_help = f"{pd.Timestamp(renewal):%d %b %Y} · {acct['billing_period']}"
    elif acct["status"] == "churned" and pd.notna(acct["churned_on"]):
        renewal_text, renewal_help = "–", f"churned on {pd.Timestamp(acct['churned_on']):%d %b %Y}"
    else:
        renewal_text, renewal_help = "–", None
    tenure_months = int(acct["tenure_days"] // 30) if pd.notna(acct["tenure_days"]) else None

    c = st.columns(4)
    revenue = bool(acct["has_revenue"])
    c[0].metric("ARR" if revenue else "ARR · no revenue data", layout.money(acct["arr"]) if revenue else "–", border=True,
                help=None if revenue else "The data has no subscriptions or revenue for this workspace.")
    c[1].metric("Seats", f"{int(acct['seats']):,}" if pd.notna(acct["seats"]) else "–", border=True)
    c[2].metric("Renewal", renewal_text, delta=renewal_help, delta_color="off", delta_arrow="off", border=True)
    c[3].metric(
        "Tenure",
        "–" if tenure_months is None
        else f"{tenure_months // 12} y {tenure_months % 12} m" if tenure_months >= 12 else fmt.plural(tenure_months, "month"),
        border=True,
    )

    explanation, history = cached_scores.explanation(viewer, account_id)
    record = cached_scores.production_churn_record()  # the model itself is loaded only for the what-if
    horizon = record.horizon_days if record and record.horizon_days else 90
    flat = acct["shape"] == "flat"

    rule = explanation is not None and is_rule_score(explanation.model_id)
    if explanation is None:
        advice = data_support.no_scores_message().removeprefix("No scores yet").lstrip(" .—")
        st.info(f"This account has no score yet. {advice[:1].upper()}{advice[1:]}")
    elif rule:
        _rule_header(explanation, cached_scores.technical(viewer))
    else:
        band = explanation.risk_band
        # the label window starts the day after the data's end (obs_date); say it from the as-of date, as every page does
        scored_from = pd.Timestamp(explanation.obs_date) - pd.Timedelta(days=1) if explanation.obs_date else as_of
        r = st.columns(4)
        delta = None if explanation.previous_p_churn is None else explanation.p_churn - explanation.previous_p_churn
        r[0].metric(
            f"Churn risk · {band}",
            fmt.pct(explanation.p_churn, 0),
            delta=None
            if delta is None
            else ("unchanged since last scoring" if abs(delta) < 0.0005 else f"{delta * 100:+.1f} pts since last scoring"),
            delta_color="off" if delta is None or abs(delta) < 0.0005 else "inverse",
            delta_arrow="off" if delta is None or abs(delta) < 0.0005 else "auto",
            border=True,
            help="Probability that this account churns, learned from the churn label in your data." if flat
            else f"Probability that this account churns within {horizon} days of {scored_from:%d %b %Y}.",
        )
        r[1].metric(
            "Expansion likelihood",
            layout.pct(explanation.p_expansion),
            border=True,
            help=f"Probability of an MRR increase of at least 10% within {horizon} days." if revenue
            else "Expansion needs revenue data (subscriptions), which this workspace does not have.",
        )
        r[2].metric(
            "Expected ARR loss",
            layout.money(explanation.expected_arr_loss),
            border=True,
            help="p(churn) × ARR: the revenue this account puts at risk, weighted by its probability." if revenue
            else "No revenue data, so no ARR at risk can be computed.",
        )
        r[3].metric(
            "Rule health score",
            "–" if explanation.health_score is None else f"{explanation.health_score:.0f} / 100",
            border=True,
            help="The familiar weighted scorecard (higher is healthier), shown beside the model. "
            "The Model lab backtests both on the same dates so you can see which to trust.",
        )
        what = ("Scores predict the churn label of your data (a flat table has no dates, so no horizon)." if flat
                else f"Scores predict churn within the next **{horizon} days** after {scored_from:%d %b %Y}.")
        if cached_scores.technical(viewer):
            st.caption(f"{what} They are calibrated: among accounts scored 30%, about 30% churn. Model "
                       f"`{explanation.model_id}`, scored {fmt.moment(explanation.scored_at)} · "
                       f"{score_now.schedule_note()}.")
        else:
            st.caption(f"{what} Of accounts shown at 30%, about 3 in 10 churn. "
                       f"Scored {fmt.moment(explanation.scored_at)} · {score_now.schedule_note()}.")

    tab_names = ["Why", "What-if", "Usage", "Timeline", "Playbooks & notes", "Contacts", "Subscription"]
    why_tab, whatif_tab, usage_tab, timeline_tab, play_tab, contacts_tab, billing_tab = st.tabs(
        tab_names, key="tab", bind="query-params", on_change="rerun"
    )
    # Only the open tab is rendered: the others cost nothing until chosen (and ?tab= deep-links one).

    if why_tab.open:
        with why_tab:
            if explanation is None:
                st.info("Reasons appear once the account is scored.")
            elif rule:
                _rule_reasons(explanation)
            else:
                left, right = st.columns([3, 2])
                with left:
                    st.subheader("What drives this account's risk")
                    st.caption(
                        "How to read this: start from the average account's risk at the top; red bars push this "
                        "account's risk up, green bars pull it down; the blue bar is this account's probability."
                    )
                    plot.show(cached_scores.explanation_chart(viewer, account_id, "shap_waterfall"),
                              key="shap_waterfall")
                with right:
                    st.subheader("In plain words")
                    for group, lines in _drivers_in_words(explanation.drivers).items():
                        st.markdown(f"**{group}**")
                        st.markdown(lines)
                    if explanation.no_data:
                        st.markdown("**No data**")
                        st.caption(
                            "No data for this account: " + ", ".join(explanation.no_data) + ". The score allows "
                            "for the gap, but a gap is not a reason; filling it in makes the score sharper."
                        )
                    st.subheader("What changed since last scoring")
                    if explanation.changes:
                        st.markdown("\n".join(f"- {c}" for c in explanation.changes))
                    else:
                        st.caption("This is the account's first scoring; changes appear after the next run.")
                if len(history) >= 2:  # one point is not a history
                    st.subheader("Probability history")
                    st.caption(
                        "How to read this: each point is one scoring run; a rising red line means growing churn risk."
                    )
                    plot.show(cached_scores.explanation_chart(viewer, account_id, "score_history"),
                              key="score_history")

    if whatif_tab.open:
        with whatif_tab:
            model = cached_scores.trained_model(record) if record is not None else None
            if explanation is None or model is None:
                st.info("The what-if needs a production model and a score for this account.")
            else:
                features = cached_scores.account_features(viewer, account_id)
                actionable = [
                    f
                    for f in model.features
                    if f in model.catalog
                    and model.catalog[f].actionable
                    and model.catalog[f].group not in ("Contract", "Firmographic")
                    and f in model.numeric
                ]
                if features.empty or not actionable:
                    st.info("No actionable metrics to change for this account.")
                else:
                    order = {f: i for i, f in enumerate(explanation.drivers.sort_values("rank")["feature"])}
                    actionable.sort(key=lambda f: order.get(f, len(order)))
                    st.caption(
                        "Change what your team can influence (usage, adoption, support, billing, relationship) and "
                        "re-score live. Only actionable metrics are offered; the account's own top drivers come first."
                    )
                    with st.form("what_if"):
                        cols = st.columns(3)
                        specs, edits = {}, {}
                        for i, f in enumerate(actionable[:12]):
                            current = pd.to_numeric(features[f].iat[0], errors="coerce")
                            specs[f] = what_if_inputs.input_spec(f, model.catalog[f], current)
                            edits[f] = what_if_inputs.draw(cols[i % 3], specs[f], key=f"wi_{f}")
                        submitted = st.form_submit_button("Re-score", type="primary")
                    if submitted:
                        changes = {f: specs[f].to_model(v) for f, v in edits.items() if specs[f].changed(v)}
                        if not changes:
                            st.info("Nothing changed: edit at least one value.")
                        else:
                            try:
                                result = what_if(model, features, changes)
                            except UserError as exc:
                                st.error(str(exc))
                            else:
                                p0, p1 = result["p_before"], result["p_after"]
                                a, b = st.columns([2, 3])
                                a.metric(
                                    "What-if churn risk",
                                    f"{p1:.0%}",
                                    delta=f"{(p1 - p0) * 100:+.1f} pts",
                                    delta_color="inverse",
                                    border=True,
                                )
                                with a:
                                    plot.show(charts.fig_what_if(p0, p1), key="what_if_chart")
                                with b:
                                    st.markdown("**Top drivers after the change**")
                                    st.markdown(
                                        "\n".join(
                                            f"- {sentence} — {':red[▲]' if shap > 0 else ':green[▼]'}"
                                            for _, shap, sentence in result["drivers"]
                                        )
                                    )
                                    st.caption(
                                        "The change in probability is the model's estimate, applied to the "
                                        "calibrated score; it is not a promise of what the customer will do."
                                    )

    if usage_tab.open:
        with usage_tab:
            left, right = st.columns(2)
            with left:
                st.subheader("Usage by event type")
                st.caption("How to read this: weekly count of each product action; a falling line is an early churn sign.")
                plot.show(cached.account_chart(viewer, account_id, "usage"), key="usage_chart")
            with right:
                st.subheader("Active users vs seats")
                st.caption("How to read this: the gap between the dashed seats line and active users is unused licences.")
                plot.show(cached.account_chart(viewer, account_id, "active_users"), key="users_chart")

    if timeline_tab.open:
        with timeline_tab:
            st.subheader("Tickets, NPS, invoices, contacts and your team's activity")
            st.caption(
                "How to read this: each mark is one event; red triangles are warning signs (urgent tickets, detractor NPS, "
                "failed or late payments, a champion leaving)."
            )
            plot.show(cached.account_chart(viewer, account_id, "timeline"), key="timeline_chart")
            from components import account_people  # deferred: import time (playbooks; this tab only)

            account_people.activity_form(user, account_id)
            tl = account_people.timeline_table(viewer, account_id, detail["timeline"])
            st.dataframe(
                tl[["occurred_at", "kind", "detail"]],
                hide_index=True,
                height=320,
                column_config={
                    "occurred_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY"),
                    "kind": "Type",
                    "detail": st.column_config.TextColumn("What happened", width="large"),
                },
                placeholder="–",
            )

    if contacts_tab.open:
        with contacts_tab:
            from components import account_people  # deferred: import time (playbooks; this tab only)

            account_people.contacts_panel(user, account_id)

    if billing_tab.open:
        with billing_tab:
            subs = detail["subscriptions"]
            if subs.empty:
                st.info("No subscriptions recorded for this account.")
            else:
                st.dataframe(
                    subs,
                    hide_index=True,
                    column_config={
                        "start_date": st.column_config.DateColumn("From", format="D MMM YYYY"),
                        "end_date": st.column_config.DateColumn("Until", format="D MMM YYYY"),
                        "renewal_date": st.column_config.DateColumn("Term ends", format="D MMM YYYY"),
                        "mrr": st.column_config.NumberColumn("MRR", format="dollar"),
                        "seats": "Seats",
                        "product": "Product",
                        "billing_period": "Billing",
                    },
                    placeholder="–",
                )

    if play_tab.open:
        with play_tab:
            left, right = st.columns([3, 2])
            with left:
                st.subheader("Suggested playbooks")
                groups = []
                if explanation is not None:
                    groups = list(dict.fromkeys(explanation.risk_drivers["group"].head(3)))
                from components import playbook_forms  # deferred: import time (playbooks; this tab only)

                playbook_forms.trigger_form(user, account_id)
                playbook_forms.account_playbook_panel(user, account_id)
                if groups:
                    st.caption(
                        "Learn more about this account's top driver groups: "
                        + " · ".join(f"[{g}](/learn?topic={g.lower()})" for g in groups)
                    )
            with right:
                st.subheader("Notes")
                with st.form("add_note", clear_on_submit=True):
                    body = st.text_area("Add a note", max_chars=5000, placeholder="What did you learn on the last call?")
                    if st.form_submit_button("Save note"):
                        try:
                            add_note(workspace().engine, account_id, user.username, body)
                            st.toast("Note saved")
                        except UserError as exc:
                            st.error(str(exc))
                notes = list_notes(workspace().engine, account_id)
                if notes.empty:
                    st.caption("No notes yet.")
                for n in notes.itertuples():
                    with st.container(border=True):
                        st.caption(f"{n.author} · {pd.Timestamp(n.created_at):%d %b %Y %H:%M}")
                        st.text(n.body)
