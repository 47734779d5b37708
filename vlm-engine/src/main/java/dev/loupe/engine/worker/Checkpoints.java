package dev.loupe.engine.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.loupe.engine.train.TrainingCheckpoint;

/**
 * A job's checkpoint folders, {@code step-N} under one folder. A checkpoint is complete once its
 * {@link TrainingCheckpoint#STATE_FILE} is written (the last file a save writes); a folder without it is what a crash
 * during a save left behind, and is never resumed from.
 */
final class Checkpoints {
    private static final Pattern STEP_FOLDER = Pattern.compile("step-(\\d+)");

    private final Path root;

    Checkpoints(Path root) {
        this.root = root;
    }

    Path root() {
        return root;
    }

    /** The folder of the checkpoint at a step. */
    Path folder(long step) {
        return root.resolve("step-" + step);
    }

    /** The step a checkpoint folder is of. */
    static long step(Path folder) {
        Matcher matcher = STEP_FOLDER.matcher(folder.getFileName().toString());
        if (!matcher.matches()) {
            throw new IllegalArgumentException(folder + " is no checkpoint folder");
        }
        return Long.parseLong(matcher.group(1));
    }

    /** The complete checkpoint of the highest step, if any. */
    Optional<Path> latest() throws IOException {
        List<Path> complete = complete();
        return complete.isEmpty() ? Optional.empty() : Optional.of(complete.get(complete.size() - 1));
    }

    /** Deletes every checkpoint folder but the {@code keep} complete ones of the highest steps. */
    void prune(int keep) throws IOException {
        List<Path> complete = complete();
        List<Path> kept = complete.subList(Math.max(0, complete.size() - keep), complete.size());
        for (Path folder : folders()) {
            if (!kept.contains(folder)) {
                deleteTree(folder);
            }
        }
    }

    private List<Path> complete() throws IOException {
        return folders().stream().filter(f -> Files.isRegularFile(f.resolve(TrainingCheckpoint.STATE_FILE))).toList();
    }

    /** Checkpoint folders by step. */
    private List<Path> folders() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> children = Files.list(root)) {
            return children.filter(Files::isDirectory)
                    .filter(f -> STEP_FOLDER.matcher(f.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(Checkpoints::step))
                    .toList();
        }
    }

    /** Deletes a folder and everything in it. */
    static void deleteTree(Path folder) throws IOException {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
