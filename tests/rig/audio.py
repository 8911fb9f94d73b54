"""The virtual audio rig lives in the product (`audio.virtual`), since `glimpse bench e2e` uses it
too; tests import it from here."""
from audio.virtual import Recording, RigError, VirtualAudio, correlation  # noqa: F401
