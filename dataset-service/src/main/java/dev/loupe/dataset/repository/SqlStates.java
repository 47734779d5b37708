package dev.loupe.dataset.repository;

import io.vertx.pgclient.PgException;
import org.hibernate.JDBCException;

/** PostgreSQL error states the services act on, whichever client raised them. */
public final class SqlStates {
    private static final String UNIQUE_VIOLATION = "23505";

    private SqlStates() {
    }

    /** Whether a unique constraint refused the write: a concurrent request took the key first. */
    public static boolean isUniqueViolation(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            String sqlState = cause instanceof JDBCException jdbc
                    ? jdbc.getSQLState()
                    : cause instanceof PgException pg ? pg.getSqlState() : null;
            if (UNIQUE_VIOLATION.equals(sqlState)) {
                return true;
            }
        }
        return false;
    }
}
