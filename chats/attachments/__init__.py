"""Files in a chat: uploaded by its user or by support, attached to messages, served back only
to the chat's user and staff through short-lived signed URLs.

- `filetypes.py`: what a file is, from its bytes alone (no name, no declared type, no libmagic);
  and the name it is downloaded under.
- `images.py`: images decoded and re-encoded with Pillow (metadata dropped), with a thumbnail.
- `uploads.py`: the size limit, counted as the multipart body is parsed.
- `storage.py`: the "attachments" storage (Django's STORAGES: the file system, or an
  S3-compatible store), reading in chunks, deleting after a commit.
- `links.py`: the signed URLs, bound to the person they were made for.
- `services.py`: the upload, the attaching of uploads to a message, the clean-up.
- `views.py`: the one view that serves the bytes.

The README's "Attachments" section is the summary for operators; docs/events.md and the OpenAPI
schema are the contract for clients.
"""
