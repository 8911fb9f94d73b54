"""Keys: Space held in the window as push-to-talk (`space`), the shortcut list and the global
push-to-talk key on X11 (`shortcuts`), and the GlobalShortcuts portal on Wayland (`portal`)."""
