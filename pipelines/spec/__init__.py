"""The source-file contract: what a marketer may write, checked once, with errors at file:line.

`models` (SourceSpec), `checks` (the `checks:` entries), `fields` (shared building blocks),
`yaml_lines` (parsing with line numbers), `errors` (messages), `registry` (every file of a
folder, validated one by one) and `json_schema` (the schema editors use).
"""
