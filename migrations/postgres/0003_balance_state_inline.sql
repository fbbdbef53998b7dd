-- A holder's state (live cashback lots, rewards, spend in a window) is rewritten by every
-- booking. Keep it compressed inside the row up to a page instead of in TOAST chunks, which
-- each update would delete and insert again.
ALTER TABLE balances ALTER COLUMN state SET STORAGE MAIN;
ALTER TABLE balances SET (toast_tuple_target = 8160);
