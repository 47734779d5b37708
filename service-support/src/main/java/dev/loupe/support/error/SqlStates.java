package dev.loupe.support.error;

import java.sql.SQLException;

import io.vertx.pgclient.PgException;

/** PostgreSQL error states the services act on, whichever client raised them. */
public final class SqlStates {
    private static final String UNIQUE_VIOLATION = "23505";

    private SqlStates() {
    }

    /**
     * Whether a unique constraint refused the write: a concurrent request took the key first. The JDBC driver's
     * error (inside Hibernate's own, whether Hibernate ORM or Hibernate Reactive raised it) is an
     * {@link SQLException}, the Vert.x client's a {@link PgException}: the whole cause chain is searched for either.
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
