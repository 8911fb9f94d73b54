"""Scene-description mode (accessibility): the stage that says what is in front of the camera
when it changes, with hints before it describes."""
