"""The window (Qt): `app` starts it, `main_window` lays it out, `bridge` is the one object between
the widgets and the pipeline (drained on the GUI thread, typed signals out, commands in).
Widgets of the main window beside them (`conversation`, `camera_view`, `banner`,
`problems` (the device bar and the problem dialog), `status_line`, `level_meter`, `menus`), with
`theme` and the screen-reader helpers (`a11y`, `announce`, and `reader`: what the running
screen reader listens for); dialogs in `dialogs/`, key handling in `keys/`. Widgets never start
threads."""
