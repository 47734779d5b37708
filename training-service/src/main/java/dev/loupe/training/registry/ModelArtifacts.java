package dev.loupe.training.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import jakarta.enterprise.context.ApplicationScoped;

import dev.loupe.support.kms.DataKey;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.ModelFile;
import dev.loupe.training.modelstore.CheckpointInspector;
import dev.loupe.training.modelstore.PrivateFolders;

/**
 * The weights of model versions at rest: each version's files sealed ({@link ArtifactCipher}) under a data key of
 * its own, wrapped by the tenant's model key-encryption key in the KMS ({@value #KEY_PREFIX}{@code <tenant>}), in
 * {@code <loupe.training.model-versions.root>/<tenant>/<version id>/<file>.sealed}. Files are written to a
 * temporary name, forced to disk and renamed, and the folder is complete before the version is recorded.
 */
@ApplicationScoped
public class ModelArtifacts {
    static final String KEY_PREFIX = "models-";
    static final String SEALED_SUFFIX = ".sealed";

    /**
     * A sealed artifact.
     *
     * @param files the artifact's file names relative to its folder, {@code /}-separated, in name order
     * @param hash the content hash of the plaintext artifact ({@code FolderHash}'s form)
     * @param bytes plaintext bytes of every file
     */
    public record Sealed(Path folder, String keyName, String wrappedKey, List<String> files, String hash,
            long bytes) {
    }

    private final DataKeys dataKeys;
    private final TrainingConfig config;

    public ModelArtifacts(DataKeys dataKeys, TrainingConfig config) {
        this.dataKeys = dataKeys;
        this.config = config;
    }

    /** The KEK of a tenant's model versions. */
    static String keyName(String tenant) {
        return KEY_PREFIX + tenant;
    }

    /**
     * Seals every file below {@code artifact} into the version's folder, hashing each as it is read for sealing
     * (the artifact's content hash comes from the same pass).
     */
    public Sealed seal(String tenant, String modelVersionId, Path artifact) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(artifact)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        List<String> names = files.stream()
                .map(file -> artifact.relativize(file).toString().replace(artifact.getFileSystem().getSeparator(), "/"))
                .sorted()
                .toList();
        Path folder = PrivateFolders.create(versionFolder(tenant, modelVersionId));
        DataKey key = dataKeys.generate(keyName(tenant));
        SortedMap<String, ModelFile> manifest = new TreeMap<>();
        try {
            for (String name : names) {
                Path sealed = folder.resolve(sealedName(name));
                Path temporary = folder.resolve(sealedName(name) + ".tmp");
                MessageDigest digest = sha256();
                try (InputStream in = new DigestInputStream(Files.newInputStream(artifact.resolve(name)), digest);
                        OutputStream out = Files.newOutputStream(temporary)) {
                    ArtifactCipher.seal(key.plaintext(), new ArtifactCipher.Place(tenant, modelVersionId, name), in,
                            out);
                }
                try (var channel = java.nio.channels.FileChannel.open(temporary,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    channel.force(true);
                }
                Files.move(temporary, sealed, StandardCopyOption.ATOMIC_MOVE);
                manifest.put(name, new ModelFile(HexFormat.of().formatHex(digest.digest()),
                        Files.size(artifact.resolve(name))));
            }
        } finally {
            Arrays.fill(key.plaintext(), (byte) 0);
        }
        long bytes = manifest.values().stream().mapToLong(ModelFile::size).sum();
        return new Sealed(folder, keyName(tenant), key.wrapped(), names, CheckpointInspector.contentHash(manifest),
                bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /**
     * Writes the version's files, decrypted, as a zip archive (names as the worker wrote them). The archive is
     * finished only when every file opened: on a failure it stays incomplete, so that a reader cannot take a cut
     * file for the whole. The caller closes {@code out}.
     */
    public void writeZip(String tenant, String modelVersionId, String keyName, String wrappedKey,
            List<String> files, OutputStream out) throws IOException {
        byte[] key = dataKeys.unwrap(keyName, wrappedKey);
        Path folder = versionFolder(tenant, modelVersionId);
        try {
            ZipOutputStream zip = new ZipOutputStream(out);
            for (String name : files) {
                zip.putNextEntry(new ZipEntry(name));
                try (InputStream in = Files.newInputStream(folder.resolve(sealedName(name)))) {
                    ArtifactCipher.open(key, new ArtifactCipher.Place(tenant, modelVersionId, name), in, zip);
                }
                zip.closeEntry();
            }
            zip.finish();
            zip.flush();
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** Deletes a version's sealed files (a version whose registration did not commit, or an erased one). */
    public void delete(String tenant, String modelVersionId) throws IOException {
        PrivateFolders.deleteTree(versionFolder(tenant, modelVersionId));
    }

    private Path versionFolder(String tenant, String modelVersionId) {
        return config.modelVersions().root().resolve(tenant).resolve(modelVersionId);
    }

    /** Sub-folders of the artifact become part of the sealed file's name, so the version's folder stays flat. */
    private static String sealedName(String name) {
        return name.replace("/", "__") + SEALED_SUFFIX;
    }
}
