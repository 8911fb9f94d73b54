"""Keys: Space held in the window as push-to-talk (`space`), the shortcut list and the global
push-to-talk key on X11 (`shortcuts`), the GlobalShortcuts portal on Wayland (`portal`), and the
talk key's X auto-repeat, off while it is held with a screen reader running (`repeat`)."""
