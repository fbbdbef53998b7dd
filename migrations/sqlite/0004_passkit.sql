-- The PassKit web service (the /v1 endpoints devices call).
--
-- `registrations.updated_at`: when the device last (re-)registered the pass. The list of
-- updatable passes reports a pass registered after the device's tag too, so a device that
-- registered a pass older than its tag still fetches the current version. NULL for rows
-- written before this migration or by hand: the list then reads `created_at`.
ALTER TABLE registrations ADD COLUMN updated_at TEXT;
UPDATE registrations SET updated_at = created_at;

-- APNs answers 410 per push token: the dispatcher prunes registrations by token.
CREATE INDEX devices_push_token ON devices (push_token);

-- What devices report to `POST /v1/log`, newest kept, for admins. Bounded: every insert
-- deletes the rows beyond the newest N (see store/devices.rs).
CREATE TABLE device_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message     TEXT NOT NULL,
    user_agent  TEXT,
    created_at  TEXT NOT NULL
);
