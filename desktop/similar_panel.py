"""The Similar videos view: the videos of the library closest to one video (or to a file
from outside the library), by what they show, how they sound, or both.

A query is a library video — the one selected anywhere in the window, or one
double-clicked here ("click through", with Back/Forward) — or a file. Fused neighbours
come from the run's stored analysis (:func:`reelscope.core.query.video_detail`);
"Sound only" ones from the note matcher that groups the library's sounds
(:func:`reelscope.core.analytics.sound_similar.similar_by_sound`) when the analysis
has it; those and visual ones otherwise from
:func:`reelscope.core.analytics.similar.similar_videos`,
whose index ``reelscope analyze`` does not save: when it is missing the view says so
and builds it as a writing job on request. A file is embedded with the run's encoder
as ``reelscope similar FILE`` does, as a cancellable job. The same gallery also shows
videos other views hand over (``session.gallery_requested``: a lasso on the plot, a
sound's videos).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QStackedWidget, QToolButton, QVBoxLayout,
                               QWidget)

from reelscope.desktop.widgets import (EmptyState, Gallery, Panel, format_date, heading, likes_text,
                                       placeholder_pixmap, plain_label)

KINDS = (("fused", "Sound and visuals"), ("visual", "Visuals only"), ("audio", "Sound only"))
DEFAULT_K = 24
MAX_GALLERY = 500  # thumbnails a handed-over selection shows at most
CARD_THUMB = 110
NO_VIDEO = "Select a video in Videos or on the plot"
NO_RUN = "No training run yet — Train now"


@dataclass(frozen=True)
class Card:
    """What the top of the view says about the query."""

    title: str  # the video id, or the file's name
    subtitle: str  # author · likes · date, or where the file is
    description: str = ""
    video_id: Optional[str] = None
    thumbnail_jpeg: Optional[bytes] = None  # a file's (a library video's comes from the session)


@dataclass(frozen=True)
class Found:
    """One answer: the query's card and its neighbours (``reelscope.core.query.Neighbour``),
    or why there are none (``note``; ``no_run``; ``build`` = the kind whose index to build;
    ``unanalysed``: the run needs ``reelscope analyze``)."""

    card: Optional[Card]
    neighbours: tuple[Any, ...] = ()
    note: str = ""
    no_run: bool = False
    build: Optional[str] = None
    unanalysed: bool = False  # the stored analysis (and its fused index) is missing or stale
    authors: dict[str, str] = field(default_factory=dict)  # neighbour id -> author handle
    by_notes: bool = False  # "Sound only" answered by note matching, not the audio embedding


def _video_card(library: Any, video_id: str) -> Card:
    video = library.get(video_id)
    author = (video.author.unique_id or video.author.id) if video.author else None
    parts = [f"@{author}" if author else "unknown author", f"{likes_text(video.likes)} likes"]
    if video.posted_at:
        parts.append(format_date(video.posted_at))
    return Card(video.id, " · ".join(parts), (video.description or "").strip(), video.id)


def facts_of(library: Any, run_id: Optional[str], ids: list[str]
             ) -> dict[str, tuple[Optional[int], Optional[str]]]:
    """video id -> (likes, author handle), from the scatter query's cached arrays (ids in
    order, so one binary search finds any number of videos)."""
    import numpy as np

    from reelscope.core.query import scatter_data

    data = scatter_data(library, run_id)
    at = np.clip(np.searchsorted(data.ids, np.asarray(ids, dtype=str)), 0, max(len(data.ids) - 1, 0))
    out: dict[str, tuple[Optional[int], Optional[str]]] = {}
    for vid, i in zip(ids, at.tolist()):
        if not len(data.ids) or data.ids[i] != vid:
            out[vid] = (None, None)
            continue
        code = int(data.author_codes[i])
        out[vid] = (None if np.isnan(data.likes[i]) else int(data.likes[i]),
                    data.authors[code] if code >= 0 else None)
    return out


def caption(likes: Optional[int], author: Optional[str], score: Optional[float] = None) -> str:
    """A thumbnail's plain-text caption: similarity, likes, author, one per line."""
    lines = [f"similarity {score:.2f}"] if score is not None else []
    lines.append(f"{likes_text(likes)} likes")
    if author:
        lines.append(f"@{author}")
    return "\n".join(lines)


def _found(card: Card, hits: Any, library: Any, run_id: Optional[str], by_notes: bool = False) -> Found:
    """``hits`` ((id, score) pairs) as neighbours with their likes and authors."""
    from reelscope.core.query import Neighbour

    facts = facts_of(library, run_id, [vid for vid, _ in hits])
    return Found(card, tuple(Neighbour(vid, float(s), facts[vid][0]) for vid, s in hits),
                 authors={vid: a for vid, (_, a) in facts.items() if a}, by_notes=by_notes)


def basis_text(kind: str, by_notes: bool) -> str:
    """What "Sound only" compared, under the controls (empty for the other kinds)."""
    if kind != "audio":
        return ""
    if by_notes:
        return ("Same sound by its notes, however it was reposted (pitch, tempo, voice-over); 0.5 is "
                "where the analysis starts calling two videos the same sound. It keeps each video's "
                "10 closest; Sounds & trends lists a sound's every video.")
    return ("By the audio embedding (how it sounds overall): this run's analysis has no note "
            "matches for it — analyse again with the video files in place, or for a file, in a "
            "library of up to 5,000 videos.")


def find_similar(library: Any, video_id: str, kind: str, k: int, run_id: Optional[str]) -> Found:
    """The query thread's half: ``video_id``'s ``k`` nearest videos of ``kind``."""
    from reelscope.core.analytics.data import resolve_run
    from reelscope.core.query import video_detail
    from reelscope.core.store.library import LibraryError

    try:
        resolve_run(library, run_id)
    except (FileNotFoundError, KeyError) as exc:
        return Found(None, note=str(exc.args[0] if exc.args else exc), no_run=True)
    card = _video_card(library, video_id)
    if kind == "fused":
        detail = video_detail(library, video_id, run_id, k=k, n_tags=0)  # only its neighbours
        if detail.similar:
            facts = facts_of(library, run_id, [n.id for n in detail.similar])
            return Found(card, detail.similar, authors={v: a for v, (_, a) in facts.items() if a})
        notes = [n for n in detail.notes if "similar" in n or "analys" in n or "index" in n]
        return Found(card, note=" ".join(notes), unanalysed=bool(notes))
    from reelscope.core.analytics.similar import embedding_neighbours

    if kind == "audio":
        from reelscope.core.analytics.sound_similar import similar_by_sound
        from reelscope.core.query.reader import reader_for
        from reelscope.core.query.stored import stored_run

        stored, _ = stored_run(library, reader_for(library), run_id)
        if stored is not None and stored.analysis is not None:
            matched = similar_by_sound(library, video_id, k, analysis=stored.analysis)
            if matched is not None:
                return _found(card, matched, library, run_id, by_notes=True)
    try:
        hits = embedding_neighbours(library, video_id, k, run_id=run_id, kind=kind)
    except LibraryError:  # the index is not saved and a read-only library cannot build it
        what = "sound" if kind == "audio" else "what they show"
        return Found(card, note=f"Finding videos by {what} needs the run's {kind} similarity "
                     f"index, which is not built yet (or is older than the run's embeddings). "
                     f"Building it takes seconds to minutes; from a terminal: "
                     f"reelscope similar {video_id} --kind {kind}", build=kind)
    except KeyError as exc:
        return Found(card, note=str(exc.args[0] if exc.args else exc))
    return _found(card, hits, library, run_id)


def file_job(library_path: Path, file: Path, kind: str, k: int, run_id: Optional[str]) -> Any:
    """A job for a child process doing what ``reelscope similar FILE`` does (torch stays out
    of the window); its result becomes a :class:`Found` on the query thread."""
    import functools

    from reelscope.desktop import process_jobs

    return functools.partial(process_jobs.similar_file_job, library=library_path, file=Path(file), kind=kind,
                             k=k, run_id=run_id)


def build_index_job(library_path: Path, kind: str, run_id: Optional[str]) -> Any:
    """A writing job: build (or update) the run's ``kind`` similarity index."""

    def run(progress: Any, cancel: Any) -> None:
        from reelscope.core.analytics.similar import index_for
        from reelscope.core.store.library import Library

        with Library.open(library_path) as library:
            index_for(library, run_id, kind, progress=progress, cancel=cancel)

    return run


class SimilarPanel(Panel):
    name = "similar"
    title = "Similar videos"

    def __init__(self, session: Any, jobs: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(session, jobs, parent)
        self.kind = "fused"
        self.history: list[tuple[str, str]] = []  # ("video", id) or ("file", path)
        self.position = -1
        self.handed: Optional[tuple[str, list[str]]] = None  # a gallery another view asked for
        self.found: Optional[Found] = None
        self._file_results: dict[tuple[Any, ...], Found] = {}
        self._file_job: Any = None
        self._pending: Optional[str] = None  # a video selected elsewhere while hidden
        self._build()
        session.video_selected.connect(self._on_video_selected)
        session.gallery_requested.connect(self._on_gallery_requested)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.back = QToolButton(self)
        self.back.setArrowType(Qt.ArrowType.LeftArrow)
        self.back.setToolTip("Back to the previous query")
        self.back.clicked.connect(lambda: self._go(-1))
        self.forward = QToolButton(self)
        self.forward.setArrowType(Qt.ArrowType.RightArrow)
        self.forward.setToolTip("Forward")
        self.forward.clicked.connect(lambda: self._go(1))
        self.kind_box = QComboBox(self)
        for key, label in KINDS:
            self.kind_box.addItem(label, key)
        self.kind_box.setToolTip("Compare what the videos show, how they sound, or both")
        self.kind_box.currentIndexChanged.connect(self._on_kind_changed)
        self.k_box = QSpinBox(self)
        self.k_box.setRange(1, 200)
        self.k_box.setValue(DEFAULT_K)
        self.k_box.setPrefix("Show ")
        self.k_box.setSuffix(" videos")
        self.k_box.editingFinished.connect(self.refresh)
        self.file_button = QPushButton("Find videos like this file…", self)
        self.file_button.clicked.connect(self._on_choose_file)

        self.thumb = QLabel(self)
        self.thumb.setFixedSize(QSize(CARD_THUMB, CARD_THUMB))
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.card_title = heading("", self, 1.2)
        self.card_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card_subtitle = plain_label("", self)
        self.card_text = plain_label("", self, wrap=True)
        self.card_text.setMaximumHeight(48)
        card_text = QVBoxLayout()
        card_text.addWidget(plain_label("Videos like", self))
        card_text.addWidget(self.card_title)
        card_text.addWidget(self.card_subtitle)
        card_text.addWidget(self.card_text)
        card_text.addStretch(1)
        controls = QHBoxLayout()
        for w in (self.back, self.forward, self.kind_box, self.k_box):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.file_button)
        card_text.addLayout(controls)
        self.basis = plain_label("", self, wrap=True)  # what "Sound only" compared
        self.basis.setVisible(False)
        card_text.addWidget(self.basis)
        card = QHBoxLayout()
        card.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        card.addLayout(card_text, 1)

        self.handed_title = heading("", self, 1.2)
        self.back_to_similar = QPushButton("Back to similar videos", self)
        self.back_to_similar.clicked.connect(self._on_back_to_similar)
        handed = QHBoxLayout()
        handed.addWidget(self.handed_title, 1)
        handed.addWidget(self.back_to_similar)
        self.handed_bar = QWidget(self)
        self.handed_bar.setLayout(handed)

        self.progress = QProgressBar(self)
        self.progress_label = plain_label("", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._on_cancel_file)
        busy = QHBoxLayout()
        busy.addWidget(self.progress_label)
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        self.busy_bar = QWidget(self)
        self.busy_bar.setLayout(busy)
        self.busy_bar.setVisible(False)

        self.gallery = Gallery(self.session, self)
        self.gallery.opened.connect(self._on_opened)
        self.notice = EmptyState(parent=self)  # in the gallery's place: why there is nothing
        self.notice.button.clicked.connect(self._on_build_index)
        self.results = QStackedWidget(self)
        self.results.addWidget(self.gallery)
        self.results.addWidget(self.notice)

        self.card_box = QWidget(self)
        self.card_box.setLayout(card)
        page = QWidget(self)
        inner = QVBoxLayout(page)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.card_box)
        inner.addWidget(self.handed_bar)
        inner.addWidget(self.busy_bar)
        inner.addWidget(self.results, 1)
        self.empty = EmptyState(NO_VIDEO, "Find videos like a file…", self._on_choose_file, self)
        self.stack = self.fill_with(page, self.empty)
        self.page = page
        self._set_note("")
        self._update_history_buttons()

    # ------------------------------------------------------------------ public
    @property
    def query(self) -> Optional[tuple[str, str]]:
        return self.history[self.position] if 0 <= self.position < len(self.history) else None

    def show_video(self, video_id: str) -> None:
        self.handed = None
        self._push(("video", video_id))

    def show_file(self, path: str) -> None:
        self.handed = None
        self._push(("file", str(Path(path).absolute())))

    def set_kind(self, kind: str) -> None:
        self.kind_box.setCurrentIndex([k for k, _ in KINDS].index(kind))

    def refresh(self) -> None:
        """Show what the current query (or the handed-over gallery) finds now."""
        pending, self._pending = self._pending, None
        if pending is not None and self.handed is None and pending != (self.query or ("",))[-1]:
            del self.history[self.position + 1:]
            self.history.append(("video", pending))
            self.position = len(self.history) - 1
        if self.handed is not None:
            self._show_handed()
            return
        query = self.query
        if query is None and self.session.selected:
            self.history, self.position = [("video", self.session.selected)], 0
            query = self.query
        self._update_history_buttons()
        if query is None:
            self._show_empty_or_no_run()
        elif query[0] == "file":
            self._search_file(Path(query[1]))
        else:
            vid, kind, k, run_id = query[1], self.kind, self.k_box.value(), self.session.run_id
            self.load("similar", lambda library: find_similar(library, vid, kind, k, run_id),
                      lambda found: self._on_found(found, (query, kind)), self._on_failed)

    # ----------------------------------------------------------------- history
    def _push(self, query: tuple[str, str]) -> None:
        if query != self.query:
            del self.history[self.position + 1:]
            self.history.append(query)
            self.position = len(self.history) - 1
        self._reload()

    def _go(self, step: int) -> None:
        if 0 <= self.position + step < len(self.history):
            self.position += step
            self.handed = None
            self._reload()

    def _reload(self) -> None:
        self._update_history_buttons()
        if self.isVisible() and self.session.library is not None:
            self.refresh()
        else:
            self._stale = True

    def _update_history_buttons(self) -> None:
        self.back.setEnabled(self.position > 0)
        self.forward.setEnabled(self.position < len(self.history) - 1)

    # ----------------------------------------------------------------- showing
    def _show_empty_or_no_run(self) -> None:
        from reelscope.core.analytics.data import resolve_run

        run_id = self.session.run_id

        def has_run(library: Any) -> bool:
            try:
                resolve_run(library, run_id)
            except (FileNotFoundError, KeyError):
                return False
            return True

        self.load("run", has_run, lambda ok: self._show_empty(NO_VIDEO if ok else NO_RUN))

    def _show_empty(self, message: str) -> None:
        if message == NO_RUN:
            self.empty.set_message(message, "Train now", lambda: self.window().show_view("training"))
        else:
            self.empty.set_message(message, "Find videos like a file…", self._on_choose_file)
        self.stack.setCurrentWidget(self.empty)

    def _on_found(self, found: Found, asked: Optional[tuple[Any, str]] = None) -> None:
        """Show ``found`` unless the query or kind changed since it was ``asked`` for."""
        if asked is not None and (self.handed is not None or asked != (self.query, self.kind)):
            return
        self.found = found
        if found.no_run:
            self._show_empty(NO_RUN)
            return
        self.stack.setCurrentWidget(self.page)
        self.handed_bar.setVisible(False)
        self.card_box.setVisible(True)
        self._show_card(found.card)
        self._set_note(found.note, found.build, found.unanalysed)
        basis = "" if found.note else basis_text(self.kind, found.by_notes)
        self.basis.setText(basis)
        self.basis.setVisible(bool(basis))
        self.gallery.set_items((n.id, caption(n.likes, found.authors.get(n.id), n.score))
                               for n in found.neighbours)

    def _on_failed(self, message: str, details: str) -> None:
        self.stack.setCurrentWidget(self.page)
        self.gallery.set_items(())
        self._set_note(message)

    def _show_card(self, card: Optional[Card]) -> None:
        if card is None:
            return
        self.card_title.setText(card.title)
        self.card_subtitle.setText(card.subtitle)
        text = card.description.replace("\n", " ")
        self.card_text.setText(text if len(text) <= 240 else text[:239] + "…")
        self.card_text.setVisible(bool(text))
        pix: Optional[QPixmap] = None
        if card.thumbnail_jpeg:
            pix = QPixmap()
            pix.loadFromData(card.thumbnail_jpeg)
        elif card.video_id:
            pix = self.session.thumbnail(card.video_id)
            if pix is None:
                self.session.load_thumbnails([card.video_id], self._on_card_thumb, key=("similar-card",))
        size = QSize(CARD_THUMB, CARD_THUMB)
        self.thumb.setPixmap(pix.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
                             if pix is not None and not pix.isNull() else placeholder_pixmap(size))

    def _on_card_thumb(self, loaded: list[str]) -> None:
        if self.found is not None and self.found.card is not None and \
                self.found.card.video_id in loaded:
            self._show_card(self.found.card)

    def _set_note(self, text: str, build: Optional[str] = None, unanalysed: bool = False) -> None:
        """Say why the gallery is empty (in its place), with the button that fixes it."""
        self.basis.setVisible(False)  # until a result says what it compared
        self.notice.label.setText(text)
        self.notice.button.setVisible(build is not None or unanalysed)
        self.notice.button.setText(f"Build the {build} index now" if build else "Analyse now")
        self.results.setCurrentWidget(self.notice if text else self.gallery)

    # ------------------------------------------------------ handed-over galleries
    def _on_gallery_requested(self, title: str, ids: list) -> None:
        self.handed = (title, [str(v) for v in ids])
        self._reload()

    def _show_handed(self) -> None:
        assert self.handed is not None
        title, ids = self.handed
        shown = ids[:MAX_GALLERY]
        self.stack.setCurrentWidget(self.page)
        self.card_box.setVisible(False)
        self.handed_bar.setVisible(True)
        more = f" (the first {len(shown):,} of {len(ids):,})" if len(ids) > len(shown) else \
            f" ({len(ids):,} videos)"
        self.handed_title.setText(title + more)
        self._set_note("")
        run_id = self.session.run_id
        self.gallery.set_items((vid, "") for vid in shown)
        self.load("handed", lambda library: facts_of(library, run_id, shown), self._on_handed_facts)

    def _on_handed_facts(self, facts: dict[str, tuple[Optional[int], Optional[str]]]) -> None:
        if self.handed is None:
            return
        self.gallery.set_items((vid, caption(*facts.get(vid, (None, None))))
                               for vid in self.handed[1][:MAX_GALLERY])

    def _on_back_to_similar(self) -> None:
        self.handed = None
        self.refresh()

    # ------------------------------------------------------------------- slots
    def _on_video_selected(self, video_id: str) -> None:
        """A video chosen in another view becomes the query when this view is shown (once,
        however many were chosen meanwhile, so Back goes where the user was here). While
        this view is shown a selection comes from its own gallery, where a click only
        selects (a double-click makes the query), or from ``show_video``, which sets it."""
        if not self.isVisible():
            self._pending = video_id
            self._stale = True

    def _on_opened(self, video_id: str) -> None:
        self.handed = None
        self._push(("video", video_id))

    def _on_kind_changed(self) -> None:
        self.kind = self.kind_box.currentData()
        if self.handed is None:
            self._reload()

    # -------------------------------------------------------------- file search
    def _on_choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Find videos like this file", "",
                                              "Videos (*.mp4 *.mov *.m4v *.webm *.mkv *.avi);;All files (*)")
        if path:
            self.show_file(path)

    def _search_file(self, file: Path) -> None:
        key = (str(file), self.kind, self.k_box.value(), self.session.run_id)
        if key in self._file_results:
            self._on_found(self._file_results[key], (("file", key[0]), key[1]))
            return
        if self._file_job is not None and self._file_job.running:
            self._file_job.cancel()
        self.stack.setCurrentWidget(self.page)
        self.handed_bar.setVisible(False)
        self.card_box.setVisible(True)
        self._show_card(Card(file.name, f"a file outside the library, in {file.parent}"))
        self.gallery.set_items(())
        self._set_note("")
        job = self.jobs.start(f"Finding videos like {file.name}",
                              file_job(self.session.path, file, self.kind, self.k_box.value(),
                                       self.session.run_id),
                              writes=False, process=True,
                              on_done=lambda answer, k=key, f=file: self._on_file_answer(k, f, answer),
                              on_cancel=lambda _: self._set_note("Cancelled."),
                              on_error=lambda message, _: self._set_note(message))
        self._file_job = job
        self.progress_label.setText(f"Embedding {file.name}")
        self.progress.setRange(0, 0)
        self.busy_bar.setVisible(True)
        job.progress.connect(self._on_file_progress)
        job.ended.connect(lambda: self.busy_bar.setVisible(False))

    def _on_file_progress(self, event: Any) -> None:
        self.progress_label.setText(f"{event.stage}: {event.message}" if event.message else event.stage)
        if event.total:
            self.progress.setRange(0, int(event.total))
            self.progress.setValue(min(int(event.done), int(event.total)))
        else:
            self.progress.setRange(0, 0)

    def _on_file_answer(self, key: tuple[Any, ...], file: Path, answer: Any) -> None:
        """The child's (run, hits, thumbnail) made a Found with likes and authors (query thread)."""
        run_id, hits, jpeg, by_notes = answer
        card = Card(file.name, f"a file outside the library, in {file.parent}", thumbnail_jpeg=jpeg)
        self.load("file-found", lambda library: _found(card, hits, library, run_id, by_notes),
                  lambda found: self._on_file_found(key, found), lambda message, _: self._set_note(message))

    def _on_file_found(self, key: tuple[Any, ...], found: Found) -> None:
        self._file_results[key] = found
        self._on_found(found, (("file", key[0]), key[1]))

    def _on_cancel_file(self) -> None:
        if self._file_job is not None:
            self._file_job.cancel()

    # ------------------------------------------------------------ index build
    def _on_build_index(self) -> None:
        if self.found is not None and self.found.unanalysed:
            self.window().show_view("training")
            return
        kind = self.found.build if self.found else None
        if not kind or self.session.path is None:
            return
        job = self.jobs.start(f"Building the {kind} similarity index",
                              build_index_job(self.session.path, kind, self.session.run_id),
                              writes=True, on_done=lambda _: self.refresh())
        if job is None:
            self._set_note(f"{self.jobs.writer_busy()} is running; build the index when it ends.", kind)
