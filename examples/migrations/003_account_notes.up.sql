CREATE TABLE account_notes (
    id bigserial PRIMARY KEY,
    aid integer NOT NULL REFERENCES pgbench_accounts (aid),
    body text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
-- Index the foreign key: deleting an account must not scan the notes.
CREATE INDEX account_notes_aid ON account_notes (aid);
