package dev.loupe.training;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The versioned migrations build the schema from an empty database and are safe to run again. */
@QuarkusTest
class MigrationTest {
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String url;
    @ConfigProperty(name = "quarkus.datasource.username")
    String username;
    @ConfigProperty(name = "quarkus.datasource.password")
    String password;

    @Test
    void migrationsApplyToAnEmptySchemaAndAreIdempotent() throws SQLException {
        String schema = "migration_check_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try {
            Flyway flyway = Flyway.configure()
                    .dataSource(url, username, password)
                    .schemas(schema)
                    .createSchemas(true)
                    .locations("classpath:db/migration", "classpath:db/audit-outbox")
                    .load();
            MigrateResult first = flyway.migrate();
            assertTrue(first.migrationsExecuted > 0, "the first run applies every migration");
            assertEquals(Set.of("base_model", "fine_tuning_job", "fine_tuning_job_event", "fine_tuning_job_checkpoint",
                    "model_version", "model_version_record", "audit_outbox", "flyway_schema_history"),
                    tables(schema));

            MigrateResult second = flyway.migrate();
            assertEquals(0, second.migrationsExecuted, "a second run applies nothing");
            flyway.validate();
        } finally {
            execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    private Set<String> tables(String schema) throws SQLException {
        try (Connection connection = DriverManager.getConnection(url, username, password);
                ResultSet rows = connection.getMetaData().getTables(null, schema, "%", new String[]{"TABLE"})) {
            Set<String> names = new HashSet<>();
            while (rows.next()) {
                names.add(rows.getString("TABLE_NAME"));
            }
            return names;
        }
    }

    private void execute(String sql) throws SQLException {
        try (Connection connection = DriverManager.getConnection(url, username, password);
                Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
