"""Vision-language models behind the `VlmEngine` port.

`prompts`: the instructions per mode (editable text files) and the chat messages built from a
request. `loading`: from a reference to a loaded model (model resolution, the memory check,
processors without torchvision, device and dtype, int8). `compat`: what differs between
transformers 4 and 5 (image sizes, the KV cache). `engine`: `TransformersVlm`, streamed, with
the image prefix encoded ahead of the question. `openai_server`: any OpenAI-compatible
`/v1/chat/completions` server as the engine."""
