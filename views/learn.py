"""Learn: how scores are made, how to read the charts, what each driver group means.

Topics are markdown files shipped in ``content/learn/`` (method and driver groups) and
``content/resources/`` (playbook resources). ``?topic=<file stem>`` opens one, so driver
and playbook links can point at ``/learn?topic=usage``. Admins can edit a topic: the
edit is saved as an override in the workspace (``settings.content_dir``), never in the
repository, and "reset" deletes the override.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from components import auth
from components.session import settings, workspace
from data.opstore import audit

SHIPPED = Path(__file__).resolve().parent.parent / "content"
KINDS = ("learn", "resources")
SECTIONS = {
    "How it works": ["scores", "reading-charts", "health-score", "playbooks"],
    "Driver groups": ["usage", "adoption", "support", "billing", "relationship", "sentiment", "contract",
                      "firmographic"],
}
# Shorter labels for the topic list (the page title stays the document's own title).
NAV_LABELS = {"scores": "How scores work", "reading-charts": "Reading the charts",
              "health-score": "Health score vs ML score", "playbooks": "Playbooks and uplift"}
DEFAULT_TOPIC = "scores"
MAX_CHARS = 50_000


@dataclass(frozen=True)
class Document:
    """One markdown file: shipped in the repo, possibly overridden in the workspace."""

    kind: str
    stem: str
    shipped: Path
    override: Path

    @property
    def edited(self) -> bool:
        return self.override.exists()

    def text(self) -> str:
        path = self.override if self.edited else self.shipped
        return path.read_text(encoding="utf-8")

    @property
    def title(self) -> str:
        for line in self.text().splitlines():
            if line.startswith("# "):
                return line[2:].strip()
        return self.stem.replace("-", " ").capitalize()


@dataclass(frozen=True)
class Topic:
    stem: str
    section: str
    main: Document
    resources: Document | None = None


def _documents(kind: str, content_dir: Path) -> dict[str, Document]:
    folder = SHIPPED / kind
    if not folder.is_dir():
        return {}
    return {p.stem: Document(kind, p.stem, p, content_dir / kind / p.name) for p in sorted(folder.glob("*.md"))}


def load_topics(content_dir: Path) -> dict[str, Topic]:
    """Topics in reading order; a resource file with a learn topic's stem is shown with that topic."""
    learn = _documents("learn", content_dir)
    resources = _documents("resources", content_dir)
    section_of = {stem: section for section, stems in SECTIONS.items() for stem in stems}
    ordered = [s for stems in SECTIONS.values() for s in stems if s in learn]
    ordered += [s for s in learn if s not in ordered]
    topics = {s: Topic(s, section_of.get(s, "More"), learn[s], resources.get(s)) for s in ordered}
    for stem, doc in resources.items():
        if stem not in topics:
            topics[stem] = Topic(stem, "Playbook resources", doc)
    return topics


def _body(text: str) -> str:
    """The markdown without its first-level title (shown as the page title)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return "\n".join(lines[:i] + lines[i + 1:]).strip()
    return text


def _save_override(doc: Document, text: str) -> None:
    doc.override.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=doc.override.parent, prefix=".edit.", suffix=".md")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text.replace("\r\n", "\n").rstrip() + "\n")
    os.replace(tmp, doc.override)


def _audited(action: str, doc: Document, **detail) -> None:
    with workspace().engine.begin() as conn:
        audit(conn, user.username, action, f"{doc.kind}/{doc.stem}", **detail)


def _edit_form(doc: Document, label: str) -> None:
    with st.expander(label, icon=":material/edit:"):
        st.caption("Markdown. Your version is saved in this workspace and replaces the shipped text for everyone; "
                   "the shipped file in the app is never changed.")
        with st.form(f"edit_{doc.kind}_{doc.stem}", border=False):
            text = st.text_area("Text", value=doc.text(), height=420, max_chars=MAX_CHARS,
                                key=f"text_{doc.kind}_{doc.stem}_{int(doc.edited)}")
            saved = st.form_submit_button("Save", type="primary", icon=":material/save:")
        if saved:
            if not text.strip().startswith("# "):
                st.error("Start the text with a title line such as '# Usage' so the topic keeps its name.")
            else:
                _save_override(doc, text)
                _audited("learn.edit", doc, chars=len(text))
                st.session_state["learn_flash"] = "Saved. Everyone now sees your version."
                st.rerun()
        if doc.edited:
            with st.form(f"reset_{doc.kind}_{doc.stem}", border=False):
                st.caption("This topic has been edited in this workspace.")
                reset = st.form_submit_button("Reset to shipped version", icon=":material/restart_alt:")
            if reset:
                doc.override.unlink(missing_ok=True)
                _audited("learn.reset", doc)
                st.session_state["learn_flash"] = "Reset: the shipped version is shown again."
                st.rerun()


user = auth.current_user()
topics = load_topics(settings().content_dir)
if not topics:
    st.title("Learn")
    st.info("No learning content is installed: the app's content/learn folder is missing.")
    st.stop()

requested = st.query_params.get("topic")
current = requested if requested in topics else (DEFAULT_TOPIC if DEFAULT_TOPIC in topics else next(iter(topics)))

nav, main = st.columns([1, 3], gap="large")
with nav:
    st.markdown("### Learn")
    needle = st.text_input("Search topics", key="learn_search", placeholder="e.g. calibration",
                           label_visibility="collapsed", max_chars=100).strip().lower()
    section = None
    shown = 0
    for topic in topics.values():
        if needle and needle not in topic.main.text().lower() and needle not in (
                topic.resources.text().lower() if topic.resources else ""):
            continue
        if topic.section != section:
            section = topic.section
            st.caption(section.upper())
        st.page_link("views/learn.py", label=NAV_LABELS.get(topic.stem, topic.main.title),
                     query_params={"topic": topic.stem},
                     icon=":material/chevron_right:" if topic.stem == current else ":material/article:")
        shown += 1
    if needle and not shown:
        st.caption("No topic mentions that.")

with main:
    if flash := st.session_state.pop("learn_flash", None):
        st.success(flash, icon=":material/check_circle:")
    if requested and requested not in topics:
        st.warning(f"There is no topic called {requested!r}; showing {topics[current].main.title!r} instead.")
    topic = topics[current]
    st.title(topic.main.title)
    if topic.main.edited:
        st.badge("Edited in this workspace", icon=":material/edit_note:", color="orange")
    st.markdown(_body(topic.main.text()))
    if topic.resources is not None:
        st.divider()
        st.subheader(topic.resources.title)
        st.markdown(_body(topic.resources.text()))
    if "admin" in user.roles:
        st.divider()
        _edit_form(topic.main, "Edit this topic")
        if topic.resources is not None:
            _edit_form(topic.resources, "Edit the playbook resources")
