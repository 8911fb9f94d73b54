"""The playback stage: speech chunks in, sound out, and the moment the first sample played.

Barge-in: `interrupt()` (called on the interrupting thread when the generation moves on) clears
the speaker at once; queued chunks of the old turn are dropped by the stage loop unseen, and a
chunk that was being handed to the speaker while the generation moved on is taken back.

Gaps: a chunk of a turn that has started sounding, arriving after the speaker ran dry, is a pause
the answer's text does not have (synthesis fell behind playback); `gaps` counts them, beside the
speaker's own `underruns` (blocks the device asked for too late), for `glimpse bench e2e`.

Hands-free: `PlaybackDone` (which ends the turn and reopens the microphone) is sent only once the
speaker has drained, device buffer included, plus `tail_s` for the room's echo to die down.
"""
from __future__ import annotations

from typing import Iterator

from assistant import events as ev
from assistant.errors import DeviceError
from assistant.events import StageName
from assistant.ports import Speaker
from assistant.stage import Generation, Outbox, Stage


class PlaybackStage(Stage):
    name = StageName.PLAYBACK

    def __init__(self, outbox: Outbox, generation: Generation, speaker: Speaker,
                 volume: float = 1.0, tail_s: float = 0.0, stall_s: float = 1.0) -> None:
        super().__init__(outbox, generation)
        self.speaker = speaker
        self.volume = volume
        self.tail_s = tail_s
        self._started: set[int] = set()
        self.stall_s = stall_s
        self.gaps = 0  # chunks that came after the speaker ran dry inside an answer

    def setup(self) -> None:
        self.speaker.open()

    def teardown(self) -> None:
        self.speaker.close()

    def interrupt(self) -> None:
        self.speaker.clear()

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if not isinstance(item, ev.SpeechChunk):
            return
        if item.samples.size:
            if item.turn_id in self._started and self.speaker.pending() <= 0:
                self.gaps += 1
            samples = item.samples if self.volume == 1.0 else item.samples * self.volume
            self.speaker.enqueue(samples, item.sample_rate, item.gen,
                                 on_start=self._on_start_for(item))
            if self.stale(item):
                # The generation moved on while we enqueued: interrupt() may have cleared the
                # speaker before this chunk arrived there, so take it back now.
                self.speaker.clear_before(self.generation.value)
                return
        if item.final:
            token = self.token(item)
            # Wait for the device to drain; a barge-in (stale generation) or stop ends the wait.
            while self.speaker.pending() > 0 and not token.cancelled:
                if self.stop_event.wait(0.005):
                    return
                self._check_stall()
            if self.tail_s > 0 and not token.cancelled:
                deadline = ev.now() + self.tail_s
                while not token.cancelled and ev.now() < deadline:
                    if self.stop_event.wait(0.005):
                        return
            if not token.cancelled:
                self._started.discard(item.turn_id)
                yield ev.PlaybackDone(turn_id=item.turn_id, gen=item.gen)

    def _check_stall(self) -> None:
        """A device that stopped taking audio ends the turn with an error instead of a wait
        that never ends. The stream is closed, so the next answer opens the speaker anew (on
        whatever output exists by then)."""
        quiet = self.speaker.stalled()
        if quiet >= self.stall_s:
            self.speaker.close()
            raise DeviceError(
                f"The speaker stopped playing ({quiet:.1f} s without taking audio): the output "
                "device went away", "The answer is kept as text. Check the speaker or headphones, "
                "or choose another output in Settings; the next answer tries again.")

    def _on_start_for(self, item: ev.SpeechChunk):
        if item.turn_id in self._started:
            return None
        self._started.add(item.turn_id)

        def started(t: float) -> None:  # audio thread: only a put_nowait
            self.outbox.put(ev.PlaybackStarted(played_at=t, turn_id=item.turn_id, gen=item.gen))

        return started
