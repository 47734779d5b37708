package dev.loupe.training.repository;

import java.sql.SQLException;

import io.vertx.pgclient.PgException;

/** PostgreSQL error states the service acts on, whichever client raised them. */
public final class SqlStates {
    private static final String UNIQUE_VIOLATION = "23505";

    private SqlStates() {
    }

    /**
     * Whether a unique constraint refused the write: a concurrent request took the key first. Hibernate Reactive
     * reports the PostgreSQL client's error as an {@link SQLException} inside its own, the Vert.x client as a
     * {@link PgException}: the whole cause chain is searched for either.
     */
    public static boolean isUniqueViolation(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            String sqlState = cause instanceof SQLException sql
                    ? sql.getSQLState()
                    : cause instanceof PgException pg ? pg.getSqlState() : null;
            if (UNIQUE_VIOLATION.equals(sqlState)) {
                return true;
            }
        }
        return false;
    }
}
