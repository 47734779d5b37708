-- Scheduled evaluations: a deployment may be evaluated on a frozen dataset version's validation split on a cron
-- schedule; each run's metrics are kept next to the model version's training-time ones.
ALTER TABLE deployment
    ADD COLUMN evaluation_schedule            text NOT NULL DEFAULT '',
    ADD COLUMN evaluation_dataset_version_id  text NOT NULL DEFAULT '';

CREATE TABLE evaluation_run (
    id                  text        PRIMARY KEY,
    tenant              text        NOT NULL,
    deployment_id       text        NOT NULL,
    dataset_version_id  text        NOT NULL,
    ran_at              timestamptz NOT NULL,
    examples            integer     NOT NULL,
    failed_examples     integer     NOT NULL,
    metrics             jsonb       NOT NULL,
    training_metrics    jsonb       NOT NULL,
    -- The metrics that fell below their training-time value by more than the tolerance.
    regressed           jsonb       NOT NULL
);

CREATE INDEX evaluation_run_deployment ON evaluation_run (tenant, deployment_id, ran_at DESC);
