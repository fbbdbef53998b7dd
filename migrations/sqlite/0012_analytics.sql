-- The dashboard's analytics read orders by when they were placed: chart periods and the
-- 30-day window of active holders are ranges of `placed_at`, and the CSV export pages through
-- them in `(placed_at, id)` order. Without this every period scanned all orders ever booked.
CREATE INDEX orders_placed ON orders (placed_at, id);
