package dev.loupe.governance.repository;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.loupe.audit.AuditJson;
import dev.loupe.audit.Checkpoint;
import dev.loupe.governance.config.GovernanceConfig;

/**
 * The copy of every checkpoint outside the database: one append-only JSON-lines file per chain in the configured
 * folder. Blocking I/O: call it from a worker thread.
 */
@ApplicationScoped
public class CheckpointFiles {
    private static final Logger LOG = Logger.getLogger(CheckpointFiles.class);

    private final Path dir;

    public CheckpointFiles(GovernanceConfig config) {
        this.dir = config.checkpoints().dir();
    }

    /** Appends a checkpoint to its chain's file and forces it to disk before returning. */
    public synchronized void append(Checkpoint checkpoint) {
        Path file = fileOf(checkpoint.chain());
        byte[] line = (AuditJson.checkpointLine(checkpoint) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            Files.createDirectories(dir);
            // Not opened for APPEND, which cannot be combined with reading: this process is the only writer and
            // writes at the end.
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                channel.position(channel.size());
                if (endsTorn(channel)) {
                    // A crash cut the previous line short; end it so that this one stays readable.
                    channel.write(ByteBuffer.wrap(new byte[]{'\n'}));
                }
                channel.write(ByteBuffer.wrap(line));
                channel.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write checkpoint file " + file, e);
        }
    }

    private static boolean endsTorn(FileChannel channel) throws IOException {
        long size = channel.size();
        if (size == 0) {
            return false;
        }
        ByteBuffer last = ByteBuffer.allocate(1);
        channel.read(last, size - 1);
        return last.get(0) != '\n';
    }

    /**
     * A chain's checkpoints as the file holds them. A line that does not parse is skipped with a warning: a
     * crash while writing leaves one, and skipping it hides nothing, since the checkpoints that do parse are all
     * checked and the database holds a copy of each.
     */
    public List<Checkpoint> read(String chain) {
        Path file = fileOf(chain);
        List<Checkpoint> checkpoints = new ArrayList<>();
        if (!Files.exists(file)) {
            return checkpoints;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    checkpoints.add(AuditJson.checkpoint(line));
                } catch (IllegalArgumentException e) {
                    LOG.warnf("Skipping an unreadable line of %s (%s)", file, e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read checkpoint file " + file, e);
        }
        return checkpoints;
    }

    private Path fileOf(String chain) {
        // Chain names are tenant names; encoding keeps any of them inside the folder.
        return dir.resolve(URLEncoder.encode(chain, StandardCharsets.UTF_8) + ".checkpoints.jsonl");
    }
}
