"""One video in detail, beside the video table: the video itself (played with sound where
QtMultimedia is available, else a strip of real frames), its statistics, its like forecast
with interval and explanation, its tags and suggested tags, its sound, and its similar
videos. Everything comes from ``core.query.video_detail`` (stored results, no work)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QStackedWidget, QVBoxLayout, QWidget)

from reelscope.desktop.widgets import Gallery, format_date, heading, likes_text, plain_label

if TYPE_CHECKING:
    from reelscope.core.query.results import VideoDetail
    from reelscope.desktop.session import Session

STRIP_FRAMES = 6
STRIP_HEIGHT = 140


@functools.lru_cache(maxsize=1)
def has_multimedia() -> bool:
    """QtMultimedia can play here: installed (the full PySide6) and loadable — it needs the
    system's sound libraries (libpulse on Linux), which a headless machine may lack."""
    if importlib.util.find_spec("PySide6.QtMultimedia") is None:
        return False
    try:
        import PySide6.QtMultimedia  # noqa: F401
        import PySide6.QtMultimediaWidgets  # noqa: F401
    except ImportError:
        return False
    return True


class VideoView(QStackedWidget):
    """The poster (the video's thumbnail) until Play is pressed, then the player."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.poster = QLabel(self)
        self.poster.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.poster.setMinimumSize(QSize(200, 240))
        self.addWidget(self.poster)
        self.player: Any = None
        self.video_widget: Any = None
        self.path: Optional[str] = None

    def set_poster(self, pixmap: Optional[QPixmap], text: str = "") -> None:
        self.stop()
        self.setCurrentWidget(self.poster)
        if pixmap is None:
            self.poster.setPixmap(QPixmap())
            self.poster.setText(text)
            return
        self.poster.setPixmap(pixmap.scaled(QSize(300, 300), Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))

    def play(self, path: str) -> bool:
        """Play ``path`` with sound; False where QtMultimedia is missing."""
        if not has_multimedia():
            return False
        if self.player is None:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            from PySide6.QtMultimediaWidgets import QVideoWidget

            self.video_widget = QVideoWidget(self)
            self.video_widget.setMinimumSize(QSize(200, 300))
            self.addWidget(self.video_widget)
            self.player = QMediaPlayer(self)
            self.audio = QAudioOutput(self)
            self.player.setAudioOutput(self.audio)
            self.player.setVideoOutput(self.video_widget)
        self.setCurrentWidget(self.video_widget)
        self.player.setSource(QUrl.fromLocalFile(path))
        self.player.play()
        return True

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
        self.setCurrentWidget(self.poster)


class DetailPane(QScrollArea):
    """Shows one video; ``remove_requested``/``locate_requested`` go to the library view."""

    remove_requested = Signal(str)
    locate_requested = Signal(str)

    def __init__(self, session: "Session", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.detail: Optional["VideoDetail"] = None
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # text wraps instead
        self.setMinimumWidth(420)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self)
        self.setWidget(body)
        layout = QVBoxLayout(body)
        self.title = heading("", body, 1.2)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.subtitle = plain_label("", body, wrap=True, selectable=True)
        layout.addWidget(self.subtitle)

        top = QHBoxLayout()
        media = QVBoxLayout()
        self.video = VideoView(body)
        media.addWidget(self.video)
        buttons = QHBoxLayout()
        self.play_button = QPushButton("▶ Play", body)
        self.play_button.clicked.connect(self._on_play)
        self.open_button = QPushButton("Show file", body)
        self.open_button.setToolTip("Open the folder that holds the video file")
        self.open_button.clicked.connect(self._on_open_folder)
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.open_button)
        media.addLayout(buttons)
        top.addLayout(media)
        stats = QFormLayout()
        self.stats: dict[str, QLabel] = {}
        for key, label in (("likes", "Likes"), ("forecast", "Forecast"), ("originality", "Originality"),
                           ("followers", "Followers"), ("posted", "Posted"), ("duration", "Duration"),
                           ("sound", "Sound"), ("status", "Status")):
            self.stats[key] = plain_label("", body, wrap=True, selectable=True)
            stats.addRow(label, self.stats[key])
        top.addLayout(stats, 1)
        layout.addLayout(top)

        self.strip = QHBoxLayout()
        self.strip.setSpacing(2)
        self.strip_labels: list[QLabel] = []
        for _ in range(STRIP_FRAMES):
            lab = QLabel(body)
            lab.setFixedHeight(STRIP_HEIGHT)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.strip_labels.append(lab)
            self.strip.addWidget(lab)
        self.strip.addStretch(1)
        layout.addLayout(self.strip)
        self.strip_note = plain_label("", body, wrap=True)
        layout.addWidget(self.strip_note)

        layout.addWidget(heading("Like forecast", body, 1.05))
        self.forecast = plain_label("", body, wrap=True, selectable=True)
        layout.addWidget(self.forecast)
        layout.addWidget(heading("Caption and hashtags", body, 1.05))
        self.caption = plain_label("", body, wrap=True, selectable=True)
        layout.addWidget(self.caption)
        self.suggested = plain_label("", body, wrap=True, selectable=True)
        layout.addWidget(self.suggested)
        copy_row = QHBoxLayout()
        self.copy_tags = QPushButton("Copy suggested hashtags", body)
        self.copy_tags.clicked.connect(self._on_copy_tags)
        copy_row.addWidget(self.copy_tags)
        copy_row.addStretch(1)
        layout.addLayout(copy_row)
        self.sound_cluster = plain_label("", body, wrap=True)
        layout.addWidget(self.sound_cluster)
        similar_row = QHBoxLayout()
        similar_row.addWidget(heading("Similar videos", body, 1.05))
        similar_row.addStretch(1)
        self.more_similar = QPushButton("More…", body)
        self.more_similar.clicked.connect(self._on_more_similar)
        similar_row.addWidget(self.more_similar)
        layout.addLayout(similar_row)
        self.similar = Gallery(session, body, thumb=96)
        self.similar.setMinimumHeight(180)
        self.similar.opened.connect(session.select)
        layout.addWidget(self.similar)
        self.notes = plain_label("", body, wrap=True)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.notes)
        actions = QHBoxLayout()
        self.locate_button = QPushButton("Locate moved file…", body)
        self.locate_button.clicked.connect(lambda: self.detail and self.locate_requested.emit(self.detail.id))
        self.remove_button = QPushButton("Remove from library", body)
        self.remove_button.clicked.connect(lambda: self.detail and self.remove_requested.emit(self.detail.id))
        actions.addWidget(self.locate_button)
        actions.addStretch(1)
        actions.addWidget(self.remove_button)
        layout.addLayout(actions)
        layout.addStretch(1)
        self.show_detail(None)

    # ------------------------------------------------------------------ showing
    @staticmethod
    def _originality_text(d: "VideoDetail") -> str:
        """The score and, when one measure stands out, what drove it."""
        from reelscope.core.analytics.originality import driver_words

        if d.originality is None:
            return "—"
        why = driver_words(d.originality_detectors)
        return f"{d.originality:.0f} / 100" + (f" — {why}" if why else "")

    def show_detail(self, detail: Optional["VideoDetail"]) -> None:
        self.detail = detail
        self.widget().setEnabled(detail is not None)
        if detail is None:
            self.title.setText("No video selected")
            self.subtitle.setText("Select a video in the table, on the plot or in a gallery.")
            for lab in self.stats.values():
                lab.setText("")
            for lab in self.strip_labels:
                lab.clear()
            self.video.set_poster(None)
            self.forecast.setText("")
            self.caption.setText("")
            self.suggested.setText("")
            self.sound_cluster.setText("")
            self.similar.set_items([])
            self.notes.setText("")
            self.strip_note.setText("")
            return
        d = detail
        self.title.setText(d.id)
        who = f"@{d.author}" if d.author and not d.author.startswith("@") else (d.author or "unknown author")
        self.subtitle.setText(f"{who} · {Path(d.path).name}")
        self.stats["likes"].setText(likes_text(d.likes))
        if d.forecast is not None:
            f = d.forecast
            self.stats["forecast"].setText(f"{likes_text(f.forecast)} ({likes_text(f.low)}–{likes_text(f.high)})")
        else:
            self.stats["forecast"].setText("—")
        self.stats["originality"].setText(self._originality_text(d))
        self.stats["followers"].setText(likes_text(d.followers))
        self.stats["posted"].setText(format_date(d.posted_at) or "—")
        self.stats["duration"].setText(f"{d.duration:.1f} s" if d.duration else "—")
        self.stats["sound"].setText(d.sound or "—")
        self.stats["status"].setText(d.status if not d.error else f"{d.status}: {d.error}")
        self.forecast.setText(self._forecast_text(d))
        caption = d.description or "(no caption)"
        unmentioned = [t for t in d.hashtags if f"#{t}".lower() not in caption.lower()]
        self.caption.setText(caption + ("\n" + " ".join("#" + t for t in unmentioned) if unmentioned else ""))
        if d.suggested_tags:
            self.suggested.setText("Suggested: " + "  ".join(
                f"#{t.tag} ({t.similar_videos} similar videos)" for t in d.suggested_tags[:8]))
        else:
            self.suggested.setText("")
        self.copy_tags.setVisible(bool(d.suggested_tags))
        if d.sound_cluster is not None and d.sound_cluster.size > 1:
            c = d.sound_cluster
            self.sound_cluster.setText(f"Its audio is the sound “{c.label}”, heard in {c.size - 1} other "
                                       "videos of the library.")
        else:
            self.sound_cluster.setText("")
        self.similar.set_items([(n.id, f"{n.score:.2f} · {likes_text(n.likes)} likes") for n in d.similar])
        self.notes.setText("\n".join(d.notes))
        exists = Path(d.path).is_file()
        playable = exists and has_multimedia()
        self.play_button.setEnabled(playable)
        self.play_button.setToolTip("" if playable or not exists else
                                    "Playing needs QtMultimedia and the system's sound libraries; "
                                    "the frames below show the video")
        self.open_button.setEnabled(exists)
        self.locate_button.setVisible(not exists)
        pix = self.session.thumbnail(d.id)
        self.video.set_poster(pix, "" if pix is not None else "No thumbnail")
        if pix is None and d.has_thumbnail:
            self.session.load_thumbnails([d.id], lambda _: self._poster_loaded(d.id), key=("detail-poster",))
        self._load_strip(d.id, exists and d.status == "ok")

    @staticmethod
    def _forecast_text(d: "VideoDetail") -> str:
        if d.forecast is None:
            return "No forecast for this video." if not d.notes else "No forecast yet (see the note below)."
        f = d.forecast
        text = f.explanation or (f"{likes_text(f.forecast)} likes expected, "
                                 f"{likes_text(f.low)}–{likes_text(f.high)} "
                                 f"{f'{f.coverage:.0%} of the time' if f.coverage else ''}")
        return text

    def _poster_loaded(self, video_id: str) -> None:
        if self.detail is not None and self.detail.id == video_id:
            self.video.set_poster(self.session.thumbnail(video_id))

    def _load_strip(self, video_id: str, decodable: bool) -> None:
        """Real frames of the video, read on the query thread (a failed import has none)."""
        for lab in self.strip_labels:
            lab.clear()
        if not decodable:
            failed = self.detail is not None and self.detail.status != "ok" and Path(self.detail.path).is_file()
            self.strip_note.setText("" if failed else "The file is not where it was imported from; "
                                    "locate it to play it again.")
            return
        self.strip_note.setText("")

        def read(library: Any) -> list[QImage]:
            from reelscope.core.query import frame_strip

            images = []
            for frame in frame_strip(library, video_id, STRIP_FRAMES, STRIP_HEIGHT):
                h, w, _ = frame.shape
                images.append(QImage(frame.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy())
            return images

        def show(images: list[QImage]) -> None:
            if self.detail is None or self.detail.id != video_id:
                return
            width = max(40, (self.viewport().width() - 24) // STRIP_FRAMES)  # the strip fits the pane
            for lab, image in zip(self.strip_labels, images):
                pix = QPixmap.fromImage(image)
                if pix.width() > width:
                    pix = pix.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
                lab.setPixmap(pix)

        def failed(message: str, details: str) -> None:
            self.strip_note.setText(message)

        self.session.query("detail-strip", read, show, failed)

    # ------------------------------------------------------------------ actions
    def _on_play(self) -> None:
        if self.detail is None:
            return
        if not self.video.play(self.detail.path):
            self.strip_note.setText("This build has no QtMultimedia; the frames above show the video.")

    def _on_open_folder(self) -> None:
        if self.detail is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.detail.path).parent)))

    def _on_copy_tags(self) -> None:
        if self.detail is not None:
            QGuiApplication.clipboard().setText(" ".join("#" + t.tag for t in self.detail.suggested_tags))

    def _on_more_similar(self) -> None:
        if self.detail is not None:
            self.session.select(self.detail.id)
            self.window().show_view("similar", video=self.detail.id)  # type: ignore[attr-defined]
