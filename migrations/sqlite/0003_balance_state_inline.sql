-- PostgreSQL keeps balances.state inside the row (see postgres/0003); SQLite stores rows
-- whole in its B-tree pages already. Kept so both engines share one numbering.
SELECT 1;
