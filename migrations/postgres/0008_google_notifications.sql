-- Notifying updates sent to each Google Wallet object: Google allows 3 per object in 24 hours,
-- so the count is kept here, seen by every instance and across restarts (google::pace).
CREATE TABLE google_notifications (
    object_id  TEXT NOT NULL,
    sent_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX google_notifications_object ON google_notifications (object_id, sent_at);
