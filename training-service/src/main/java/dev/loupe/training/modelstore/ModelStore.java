package dev.loupe.training.modelstore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import org.jboss.logging.Logger;

import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.training.config.TrainingConfig;

/**
 * The platform's model store: the folder ({@code loupe.training.models-root}) base model checkpoints are
 * registered from. A caller's {@code storage_uri} is confined to it, {@code ..} and symbolic links included;
 * nothing is ever downloaded. Inspecting reads whole checkpoints: call it on a worker thread.
 */
@ApplicationScoped
public class ModelStore {
    private static final Logger LOG = Logger.getLogger(ModelStore.class);
    private static final String FIELD = "storage_uri";
    /** A URI scheme at the start of a storage_uri ({@code file:}, {@code s3:}, {@code https:}). */
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    private final Path root;

    public ModelStore(TrainingConfig config) {
        this.root = config.modelsRoot().toAbsolutePath().normalize();
    }

    void createRoot(@Observes StartupEvent started) {
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            LOG.warnf("The models root %s does not exist and cannot be created (%s): no base model can be"
                    + " registered until it exists", root, e.getMessage());
        }
    }

    /** The models root, absolute. */
    public Path root() {
        return root;
    }

    /**
     * Inspects the checkpoint a caller's {@code storage_uri} names.
     *
     * @throws ProblemException (invalid {@code storage_uri}) when it names no checkpoint folder inside the root,
     *         or the folder is not a complete LLaVA checkpoint
     */
    public InspectedCheckpoint inspect(String storageUri) {
        Path folder = resolve(storageUri);
        if (!Files.isDirectory(root)) {
            throw new ProblemException(ProblemType.CONFLICT, "the models root " + root
                    + " does not exist on the training-service; an operator must create it first");
        }
        try {
            Path realRoot = root.toRealPath();
            Path real = folder.toRealPath();
            if (!real.startsWith(realRoot) || real.equals(realRoot)) {
                throw ProblemException.invalid(FIELD, "storage_uri leads outside the models root " + root
                        + " through a symbolic link");
            }
            if (!Files.isDirectory(real)) {
                throw ProblemException.invalid(FIELD, "storage_uri must name a checkpoint folder, not a file");
            }
            return CheckpointInspector.inspect(real, realRoot);
        } catch (NoSuchFileException e) {
            throw ProblemException.invalid(FIELD, "there is no folder at storage_uri in the models root " + root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Inspects a checkpoint folder the service's own configuration names (the tiny base model): it need not lie
     * in the models root, but its files must lie in the folder itself.
     *
     * @throws ProblemException when the folder is not a complete LLaVA checkpoint
     * @throws IOException when it cannot be read, e.g. because it does not exist
     */
    public InspectedCheckpoint inspectConfigured(Path folder) throws IOException {
        Path real = folder.toRealPath();
        return CheckpointInspector.inspect(real, real);
    }

    /** The folder a storage_uri names, checked by its words alone: inside the root, without {@code ..}. */
    Path resolve(String storageUri) {
        if (storageUri.isBlank()) {
            throw ProblemException.invalid(FIELD, "storage_uri is required");
        }
        Path path;
        try {
            path = SCHEME.matcher(storageUri).find() ? fromUri(storageUri) : Path.of(storageUri);
        } catch (InvalidPathException e) {
            throw ProblemException.invalid(FIELD, "storage_uri is not a valid path");
        }
        for (Path part : path) {
            if (part.toString().equals("..")) {
                throw ProblemException.invalid(FIELD, "storage_uri must not contain '..'");
            }
        }
        Path folder = root.resolve(path).normalize();
        if (!folder.startsWith(root) || folder.equals(root)) {
            throw ProblemException.invalid(FIELD, "storage_uri must name a folder inside the models root " + root);
        }
        return folder;
    }

    private static Path fromUri(String storageUri) {
        URI uri;
        try {
            uri = new URI(storageUri);
        } catch (URISyntaxException e) {
            throw ProblemException.invalid(FIELD, "storage_uri is not a valid URI: " + e.getReason());
        }
        if (!"file".equalsIgnoreCase(uri.getScheme())) {
            throw ProblemException.invalid(FIELD, "storage_uri must be a file: URI or a path on the model store;"
                    + " Loupe downloads nothing");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null
                || (uri.getAuthority() != null && !uri.getAuthority().equals("localhost"))
                || uri.getPath() == null || !uri.getPath().startsWith("/")) {
            throw ProblemException.invalid(FIELD, "storage_uri must be a file: URI of a local absolute path,"
                    + " e.g. file:///models/llava");
        }
        if (uri.getPath().contains("\u0000")) {
            throw ProblemException.invalid(FIELD, "storage_uri is not a valid path");
        }
        return Path.of(uri.getPath());
    }
}
