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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;

import dev.loupe.audit.AuditJson;
import dev.loupe.audit.Checkpoint;
import dev.loupe.governance.config.GovernanceConfig;

/**
 * The copy of every checkpoint outside the database: one append-only JSON-lines file per chain in the configured
 * folder. Blocking I/O: call it from a worker thread.
 */
@ApplicationScoped
public class CheckpointFiles {
    private static final Pattern CLAIMED_SEQ = Pattern.compile("\"seq\"\\s*:\\s*(\\d+)");

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
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.wrap(line));
                channel.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write checkpoint file " + file, e);
        }
    }

    /**
     * A chain's checkpoints as the file holds them. A line that does not parse is returned as a checkpoint that
     * cannot verify, at the sequence number it claims if that much is readable, so that tampering with the file
     * is reported rather than skipped.
     */
    public List<Checkpoint> read(String chain) {
        Path file = fileOf(chain);
        List<Checkpoint> checkpoints = new ArrayList<>();
        if (!Files.exists(file)) {
            return checkpoints;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    checkpoints.add(parse(chain, line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read checkpoint file " + file, e);
        }
        return checkpoints;
    }

    private static Checkpoint parse(String chain, String line) {
        try {
            return AuditJson.checkpoint(line);
        } catch (IllegalArgumentException e) {
            Matcher seq = CLAIMED_SEQ.matcher(line);
            return new Checkpoint(chain, seq.find() ? Long.parseLong(seq.group(1)) : 1, "", Instant.EPOCH,
                    "", new byte[0]);
        }
    }

    private Path fileOf(String chain) {
        // Chain names are tenant names; encoding keeps any of them inside the folder.
        return dir.resolve(URLEncoder.encode(chain, StandardCharsets.UTF_8) + ".checkpoints.jsonl");
    }
}
