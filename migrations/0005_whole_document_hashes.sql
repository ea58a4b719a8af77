-- Schema 5: a content hash for files an agent rewrites whole (Gemini CLI's JSON
-- documents). A changed size or mtime with the same hash is a touch, not a change, and a
-- file indexed within moments of its last write is checked by hash once more (its mtime
-- may not move on a rewrite within the file system's granularity). Not `checksum`, which
-- `verify` holds stored files to.
ALTER TABLE files ADD COLUMN content_hash TEXT;
