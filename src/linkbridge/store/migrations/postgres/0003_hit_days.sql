-- The one rule for hits: exact per-day totals by outcome and rule, kept forever (small), and
-- per-path rows that are capped per day and pruned after a retention period.
CREATE TABLE hit_days (
    day         TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    rule        TEXT    NOT NULL,
    hits        BIGINT  NOT NULL DEFAULT 0,
    other_paths BIGINT  NOT NULL DEFAULT 0,
    ignored     BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, status, rule)
);
INSERT INTO hit_days (day, status, rule, hits)
    SELECT day, status, rule, SUM(count) FROM hits GROUP BY day, status, rule;
-- The day's least-hit path row, which a busier path may displace.
CREATE INDEX hits_day_count ON hits (day, count);
