-- Which process claimed a delivery (`store::outbox::Claimer`). A claim made by a process that
-- has since died (a crash, `kill -9`) is taken again at once by the next claim, instead of
-- after the rest of its lease: a restart does not leave phones a minute behind. The lease
-- stays for the case liveness cannot tell: a process that is alive but stuck.
ALTER TABLE outbox ADD COLUMN locked_by BIGINT;
