-- When a member's personal data was erased (`DELETE /api/v1/members/{id}`): name, role,
-- e-mail, phone and ERP contact id anonymised, cards revoked. Set once; erasing again
-- changes nothing. The row itself stays: orders, ledger entries and balances refer to it.
ALTER TABLE members ADD COLUMN erased_at TEXT;
