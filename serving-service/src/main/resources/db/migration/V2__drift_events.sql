-- Drift events: a deployment's live traffic started (drift_detected) or stopped (drift_cleared) differing from its
-- training data. Kept after the deployment is deleted, like the audit trail that records them too.
CREATE TABLE drift_event (
    id             text        PRIMARY KEY,
    tenant         text        NOT NULL,
    deployment_id  text        NOT NULL,
    -- 'drift_detected' or 'drift_cleared'.
    kind           text        NOT NULL,
    -- The features compared at that moment: name, measure, reference, live, score, threshold, samples, drifting.
    features       jsonb       NOT NULL,
    occurred_at    timestamptz NOT NULL
);

CREATE INDEX drift_event_deployment ON drift_event (tenant, deployment_id, occurred_at DESC);
