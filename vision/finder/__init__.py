"""The finder: "is my mug in view, where?" answered with yes or no, a direction and how sure.

`base` holds what every finder shares (options, results, the `FinderEngine` port, directions);
`offline` the finder on the offline pack's classifier and perception, `open_vocab` the
open-vocabulary one (OWLv2 / OWL-ViT boxes, a CLIP / SigLIP yes/no); `choice` builds the one
`[finder] engine` asks for; `words` reads what a question asks for; `watch` and `watch_stage` keep looking at
the live camera until the thing appears."""
